{{/* Names ------------------------------------------------------------------------------------------------- */}}

{{- define "wp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's prefix: "weekend-planner", "weekend-planner-blue", "weekend-planner-green". */}}
{{- define "wp.fullname" -}}
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

{{- define "wp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wp.configMapName" -}}{{ include "wp.fullname" . }}-config{{- end }}

{{- define "wp.secretName" -}}
{{- default (printf "%s-secret" (include "wp.fullname" .)) .Values.secret.existingSecret }}
{{- end }}

{{- define "wp.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (toString .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Labels ------------------------------------------------------------------------------------------------ */}}

{{- define "wp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "wp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ toString .Values.image.tag | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weekend-planner
{{- with .Values.colour }}
app.kubernetes.io/colour: {{ . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component (web, worker-<name>, beat, migrate): immutable once deployed. */}}
{{- define "wp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "wp.componentLabels" -}}
{{ include "wp.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Workloads render in a rolling release and in a colour release, never in the router release. */}}
{{- define "wp.workloads" -}}
{{- if not .Values.router.enabled }}true{{- end }}
{{- end }}

{{/* Public objects (Ingress) and cluster-wide monitoring (PrometheusRule, dashboard): one per environment,
     so in the rolling release or the router release, never in a colour release. */}}
{{- define "wp.shared" -}}
{{- if not .Values.colour }}true{{- end }}
{{- end }}

{{/* HPA behaviour shared by every autoscaler (the seed's scale-up and scale-down policies). */}}
{{- define "wp.hpa" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  labels:
    {{- include "wp.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ .autoscaling.minReplicas }}
  maxReplicas: {{ .autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .autoscaling.targetMemoryUtilizationPercentage }}
  behavior:
    {{- toYaml .root.Values.autoscalingBehavior | nindent 4 }}
{{- end }}

{{- define "wp.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  labels:
    {{- include "wp.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "wp.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* The pod template every role shares: metadata and spec. Takes a dict:
       root            the chart's root context
       component       web | worker-<name> | beat | migrate
       role            the role script run by the image: /app/docker/roles/<role>
       configMapName, secretName, serviceAccountName
       env             extra environment (list), ports (list), probes (map of probe fields, may be empty)
       resources, terminationGracePeriodSeconds, preStopSleepSeconds (optional), restartPolicy (optional)
       extraLabels     (optional map), checksums (bool: annotate with the config and secret checksums)
       tmpSizeLimit    (optional) size of the /tmp emptyDir, 256Mi unless given */}}
{{- define "wp.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "wp.componentLabels" . | nindent 4 }}
    {{- with .extraLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- if .checksums }}
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    {{- end }}
    {{- with $root.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ .serviceAccountName }}
  # No pod talks to the Kubernetes API; IRSA's web-identity token is a separate projected volume.
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .terminationGracePeriodSeconds }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .role }}
      image: {{ include "wp.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: ["/app/docker/roles/{{ .role }}"]
      envFrom:
        - configMapRef:
            name: {{ .configMapName }}
        - secretRef:
            name: {{ .secretName }}
      {{- with .env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .probes }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- with .preStopSleepSeconds }}
      lifecycle:
        preStop:
          sleep:
            seconds: {{ . }}
      {{- end }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        privileged: false
        capabilities:
          drop: [ALL]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    # The only writable path: VAR_DIR, PROMETHEUS_MULTIPROC_DIR and the beat schedule live here (and the
    # backup's dump before its upload, hence tmpSizeLimit).
    - name: tmp
      emptyDir:
        sizeLimit: {{ .tmpSizeLimit | default "256Mi" }}
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $root.Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range $root.Values.topologySpreadConstraints }}
    - {{ toYaml (merge (dict "labelSelector" (dict "matchLabels" (fromYaml (include "wp.selectorLabels" (dict "root" $root "component" $.component))))) .) | nindent 6 | trim }}
    {{- end }}
  {{- end }}
{{- end }}
