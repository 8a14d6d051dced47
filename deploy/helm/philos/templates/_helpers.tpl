{{/*
Names and labels shared by every template.
*/}}

{{- define "philos.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "philos.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "philos.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "philos.selectorLabels" -}}
app.kubernetes.io/name: {{ include "philos.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "philos.labels" -}}
helm.sh/chart: {{ include "philos.chart" . }}
{{ include "philos.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: api
app.kubernetes.io/part-of: philos
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "philos.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "philos.name" . }}-worker
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "philos.workerLabels" -}}
helm.sh/chart: {{ include "philos.chart" . }}
{{ include "philos.workerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: worker
app.kubernetes.io/part-of: philos
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "philos.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "philos.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "philos.secretName" -}}
{{- default (include "philos.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "philos.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Fail the render when the shutdown timings cannot drain requests: the kubelet sends SIGKILL
terminationGracePeriodSeconds after it starts the preStop hook.
*/}}
{{- define "philos.checkShutdown" -}}
{{- $s := .Values.shutdown }}
{{- if ge (add $s.preStopSleepSeconds $s.gracefulTimeoutSeconds | int) ($s.terminationGracePeriodSeconds | int) }}
{{- fail (printf "shutdown.preStopSleepSeconds (%v) + shutdown.gracefulTimeoutSeconds (%v) must be below shutdown.terminationGracePeriodSeconds (%v)" $s.preStopSleepSeconds $s.gracefulTimeoutSeconds $s.terminationGracePeriodSeconds) }}
{{- end }}
{{- end }}

{{- define "philos.checkAutoscaling" -}}
{{- $a := .Values.autoscaling }}
{{- if and $a.enabled (gt ($a.minReplicas | int) ($a.maxReplicas | int)) }}
{{- fail (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" $a.minReplicas $a.maxReplicas) }}
{{- end }}
{{- end }}

{{/*
Every TLS host must also have a rule: a certificate for a host the Ingress does not route is
a typo, and the controller would serve its default certificate for the real host.
*/}}
{{- define "philos.checkIngress" -}}
{{- if .Values.ingress.enabled }}
{{- $hosts := list }}
{{- range .Values.ingress.hosts }}{{ $hosts = append $hosts .host }}{{ end }}
{{- range .Values.ingress.tls }}
{{- range .hosts }}
{{- if not (has . $hosts) }}
{{- fail (printf "ingress.tls host %s is not in ingress.hosts" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of the `helm test` Pods: the release's, but not the API's selector labels, so the
Service, the PDB and the NetworkPolicy's podSelector never take a test Pod for an API pod.
*/}}
{{- define "philos.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "philos.name" . | trunc 58 | trimSuffix "-" }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The federated deployment: one name and selector per part (a subgraph or the gateway), disjoint
from the API's, so the API's Service, PDB and NetworkPolicy never select a subgraph's pods.
*/}}
{{- define "philos.partName" -}}
{{- printf "%s-%s" (include "philos.fullname" .root) .part | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "philos.partSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-%s" (include "philos.name" .root) .part | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "philos.partLabels" -}}
helm.sh/chart: {{ include "philos.chart" .root }}
{{ include "philos.partSelectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: {{ .part }}
app.kubernetes.io/part-of: philos
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/*
Trusted documents: "only" needs a manifest, and a manifest must be a JSON object (the two
formats docs/security.md describes); the server would refuse to start otherwise.
*/}}
{{- define "philos.checkPersistedDocuments" -}}
{{- $manifest := .Values.persistedDocuments.manifest -}}
{{- if and .Values.persistedDocuments.only (not $manifest) -}}
{{- fail "persistedDocuments.only needs persistedDocuments.manifest (e.g. --set-file persistedDocuments.manifest=persisted-documents.json)" -}}
{{- end -}}
{{- if $manifest -}}
{{- $parsed := fromJson $manifest -}}
{{- if or (hasKey $parsed "Error") (not $parsed) -}}
{{- fail "persistedDocuments.manifest is not a JSON object: pass the file `npm run persisted-manifest` writes" -}}
{{- end -}}
{{- end -}}
{{- end -}}
