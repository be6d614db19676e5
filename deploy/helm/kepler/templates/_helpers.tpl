{{/* The chart name, or nameOverride (≤ 63 characters, a DNS label). */}}
{{- define "kepler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: fullnameOverride, else the release name when it contains the chart's name
     (release `kepler` → `kepler`), else <release>-<name>. */}}
{{- define "kepler.fullname" -}}
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

{{/* The namespace of every namespaced object. */}}
{{- define "kepler.namespace" -}}
{{- if and .Values.namespace.create .Values.namespace.name }}
{{- .Values.namespace.name }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "kepler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kepler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kepler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kepler.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kepler.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kepler
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* metadata.labels and, when set, metadata.annotations (with `extra` annotations merged). */}}
{{- define "kepler.metadata" -}}
name: {{ .name }}
{{- if .namespaced }}
namespace: {{ include "kepler.namespace" .root }}
{{- end }}
labels:
  {{- include "kepler.labels" .root | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (deepCopy (default dict .annotations)) .root.Values.annotations }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "kepler.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "kepler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kepler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the daemon reads its files inside the container. */}}
{{- define "kepler.configFile" -}}/etc/kepler/config.yaml{{- end }}
{{- define "kepler.webConfigDir" -}}/etc/kepler/web{{- end }}
{{- define "kepler.tlsDir" -}}/etc/kepler/tls{{- end }}
{{- define "kepler.redfishDir" -}}/etc/kepler/redfish{{- end }}
{{- define "kepler.redfishFile" -}}{{ include "kepler.redfishDir" . }}/redfish.yaml{{- end }}

{{- define "kepler.webConfigSecretName" -}}
{{- default (printf "%s-web-config" (include "kepler.fullname" .)) .Values.webConfig.existingSecret }}
{{- end }}

{{- define "kepler.redfishSecretName" -}}
{{- default (printf "%s-redfish" (include "kepler.fullname" .)) .Values.redfish.existingSecret }}
{{- end }}

{{- define "kepler.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "kepler.fullname" .)) .Values.webConfig.tls.existingSecret }}
{{- end }}

{{/* The daemon's config: .Values.config, with web.configFile pointing at the mounted web
     config when webConfig is enabled, experimental.platform.redfish switched on and pointing at
     the mounted BMC file when redfish is enabled, and kube.enabled false: the daemon validates
     the file on its own before flags apply (as v0.11 does), and the node name only arrives by
     flag, so Kubernetes is switched on by --kube.enable next to --kube.node-name=$(NODE_NAME).
     That flag also names the node for Redfish: an empty redfish.nodeName falls back to it. */}}
{{- define "kepler.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if $config.kube }}
{{- $_ := set $config.kube "enabled" false }}
{{- end }}
{{- if .Values.webConfig.enabled }}
{{- $web := default dict $config.web }}
{{- $_ := set $web "configFile" (printf "%s/web-config.yml" (include "kepler.webConfigDir" .)) }}
{{- $_ := set $config "web" $web }}
{{- end }}
{{- if .Values.redfish.enabled }}
{{- $experimental := default dict $config.experimental }}
{{- $platform := default dict $experimental.platform }}
{{- $redfish := default dict $platform.redfish }}
{{- $file := include "kepler.redfishFile" . }}
{{- /* A configFile of the user's own would silently lose to the mounted one: refuse it. */}}
{{- if and $redfish.configFile (ne $redfish.configFile $file) }}
{{- fail (printf "redfish.enabled mounts the BMC file at %s: leave config.experimental.platform.redfish.configFile empty (it is %q), or keep redfish.enabled false and mount your file with daemonset.extraVolumes" $file $redfish.configFile) }}
{{- end }}
{{- $_ := set $redfish "enabled" true }}
{{- $_ := set $redfish "configFile" $file }}
{{- $_ := set $platform "redfish" $redfish }}
{{- $_ := set $experimental "platform" $platform }}
{{- $_ := set $config "experimental" $experimental }}
{{- end }}
{{- /* The daemon refuses to start without the file: say so at install time instead. */}}
{{- $redfish := ((($config.experimental).platform).redfish) }}
{{- if and ($redfish).enabled (not ($redfish).configFile) }}
{{- fail "config.experimental.platform.redfish.enabled needs the BMC file: set redfish.enabled (and redfish.existingSecret or redfish.config), or config.experimental.platform.redfish.configFile" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* The http scheme probes and scrapes use. */}}
{{- define "kepler.scheme" -}}
{{- if .Values.webConfig.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* A probe from values, with the scheme filled in when it is an httpGet probe without one. */}}
{{- define "kepler.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if and $probe.httpGet (not $probe.httpGet.scheme) }}
{{- $_ := set $probe.httpGet "scheme" (include "kepler.scheme" .root) }}
{{- end }}
{{- toYaml $probe }}
{{- end }}
