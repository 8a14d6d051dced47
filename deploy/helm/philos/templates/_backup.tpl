{{/*
The backup CronJob's pieces. Its pods carry their own selector labels (like the `helm test`
Pods), so the Service, the PDB and the API's NetworkPolicy never take one for an API pod.
*/}}
{{- define "philos.backupSelectorLabels" -}}
app.kubernetes.io/name: {{ include "philos.name" . | trunc 56 | trimSuffix "-" }}-backup
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "philos.backupClaimName" -}}
{{- default (printf "%s-backups" (include "philos.fullname" .)) .Values.backup.destination.pvc.existingClaim }}
{{- end }}

{{/*
Egress to DNS and to each enabled store, shared by the API's and the backup's NetworkPolicy.
*/}}
{{- define "philos.storeEgress" -}}
{{- $np := .Values.networkPolicy }}
{{- if $np.dns.enabled }}
- to:
    {{- toYaml $np.dns.to | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{- range $store, $rule := $np.stores }}
{{- if $rule.enabled }}
# {{ $store }}
- ports:
    - port: {{ $rule.port }}
      protocol: TCP
  {{- with $rule.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The S3 endpoint's port: the one in backup.destination.s3.endpoint, else 443 (80 for http://).
*/}}
{{- define "philos.backupS3Port" -}}
{{- $endpoint := .Values.backup.destination.s3.endpoint }}
{{- if not $endpoint }}443
{{- else }}
{{- $url := urlParse $endpoint }}
{{- $host := get $url "host" }}
{{- if regexMatch ":[0-9]+$" $host }}{{ regexFind "[0-9]+$" $host }}
{{- else if eq (get $url "scheme") "http" }}80
{{- else }}443
{{- end }}
{{- end }}
{{- end }}

{{/*
Fail the render when a backup could not work: the API's embedded SQLite lives in each pod's
emptyDir, out of the job's reach, so the job needs the stores' URLs.
*/}}
{{- define "philos.checkBackup" -}}
{{- $b := .Values.backup }}
{{- if $b.enabled }}
{{- if not (or .Values.secret.existingSecret .Values.secret.databaseUrl) }}
{{- fail "backup.enabled needs an external database (secret.databaseUrl or secret.existingSecret): the embedded SQLite of each API pod is out of the backup job's reach" }}
{{- end }}
{{- if and (eq $b.destination.type "s3") (not $b.destination.s3.bucket) }}
{{- fail "backup.destination.type s3 needs backup.destination.s3.bucket" }}
{{- end }}
{{- if and (eq $b.destination.type "s3") (not $b.destination.s3.existingSecret) }}
{{- fail "backup.destination.type s3 needs backup.destination.s3.existingSecret (a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)" }}
{{- end }}
{{- end }}
{{- end }}
