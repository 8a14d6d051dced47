{{/*
One `helm test` Pod. Arguments: a dict with "root" (the chart context), "name" (the suffix of
the Pod's name) and "script" (Python, run by the API image's interpreter with the Service's
base URL as its one argument). The image is the release's own, so the check pulls nothing
else and needs no pin of its own.
*/}}
{{- define "philos.testPod" -}}
{{- $ := .root }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "philos.fullname" $ }}-test-{{ .name }}
  namespace: {{ $.Release.Namespace }}
  labels:
    helm.sh/chart: {{ include "philos.chart" $ }}
    {{- include "philos.testSelectorLabels" $ | nindent 4 }}
    app.kubernetes.io/component: test
    app.kubernetes.io/part-of: philos
    app.kubernetes.io/managed-by: {{ $.Release.Service }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    # A one-shot check that exits in seconds has nothing for a kubelet probe to watch.
    checkov.io/skip1: CKV_K8S_8=a helm test Pod runs one request and exits
    checkov.io/skip2: CKV_K8S_9=a helm test Pod runs one request and exits
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .name }}
      image: {{ include "philos.image" $ | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      command: ["python", "-c"]
      args:
        - {{ .script | quote }}
        - {{ printf "http://%s:%v" (include "philos.fullname" $) $.Values.service.port | quote }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml $.Values.tests.resources | nindent 8 }}
{{- end }}
