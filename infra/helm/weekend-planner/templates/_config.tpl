{{/* The ConfigMap's data: `config` with ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, CORS_ORIGIN and SITE_URL filled in from
     the hosts when left empty. Shared by the release's ConfigMap and the migrate hook's copy. */}}
{{- define "wp.configData" -}}
{{- $hosts := list .Values.hosts.app .Values.hosts.api -}}
{{- $derived := dict
      "ALLOWED_HOSTS" (join "," $hosts)
      "CSRF_TRUSTED_ORIGINS" (printf "https://%s,https://%s" .Values.hosts.app .Values.hosts.api)
      "CORS_ORIGIN" (printf "https://%s" .Values.hosts.app)
      "SITE_URL" (printf "https://%s" .Values.hosts.app) -}}
{{- range $key, $value := .Values.config }}
{{- $text := toString $value }}
{{- if and (eq $text "") (hasKey $derived $key) }}{{ $text = get $derived $key }}{{- end }}
{{ $key }}: {{ $text | quote }}
{{- end }}
{{- end }}
