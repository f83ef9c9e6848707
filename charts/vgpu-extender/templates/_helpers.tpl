{{/*
Base name of the chart's objects: fullnameOverride, else the scheduler name
(so that the defaults match deploy/: Deployment "vgpu-scheduler").
*/}}
{{- define "vgpu-extender.fullname" -}}
{{- default .Values.schedulerName .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vgpu-extender.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ConfigMap with the KubeSchedulerConfiguration: "<fullname>-config". */}}
{{- define "vgpu-extender.schedulerConfigName" -}}
{{- printf "%s-config" (include "vgpu-extender.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
ConfigMap with the extender's config.yaml: the fullname with "-scheduler"
replaced by "-extender", plus "-config" (vgpu-scheduler -> vgpu-extender-config).
*/}}
{{- define "vgpu-extender.extenderConfigName" -}}
{{- printf "%s-extender-config" (include "vgpu-extender.fullname" . | trimSuffix "-scheduler") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vgpu-extender.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vgpu-extender.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vgpu-extender.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vgpu-extender.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vgpu-extender.labels" -}}
{{ include "vgpu-extender.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "vgpu-extender.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* "true" when the extender listens on loopback only, else "". */}}
{{- define "vgpu-extender.loopback" -}}
{{- $a := toString .Values.extender.listen.address -}}
{{- if or (eq $a "127.0.0.1") (eq $a "localhost") (hasPrefix "127." $a) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the extender serves HTTPS, else "". */}}
{{- define "vgpu-extender.tls" -}}
{{- if .Values.extender.tls.secretName -}}true{{- end -}}
{{- end -}}

{{/* The address kube-scheduler (same pod) dials: loopback for a wildcard listener. */}}
{{- define "vgpu-extender.dialHost" -}}
{{- $a := toString .Values.extender.listen.address -}}
{{- if or (eq $a "0.0.0.0") (eq $a "") -}}127.0.0.1{{- else -}}{{ $a }}{{- end -}}
{{- end -}}

{{- define "vgpu-extender.urlPrefix" -}}
{{- printf "%s://%s:%v" (ternary "https" "http" (eq (include "vgpu-extender.tls" .) "true")) (include "vgpu-extender.dialHost" .) .Values.extender.listen.port -}}
{{- end -}}

{{/*
securityContext of every container the chart runs (both of the Deployment,
the helm test pod): non-root, read-only root file system, no privilege
escalation, no capabilities, the runtime's default seccomp profile. Set per
container too, so that it holds whatever the pod-level context says.
*/}}
{{- define "vgpu-extender.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "vgpu-extender.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The Service's URL inside the cluster, e.g. http://vgpu-scheduler.kube-system.svc:8888 */}}
{{- define "vgpu-extender.serviceURL" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" (eq (include "vgpu-extender.tls" .) "true")) (include "vgpu-extender.fullname" .) .Release.Namespace .Values.service.port -}}
{{- end -}}

{{- define "vgpu-extender.tlsDir" -}}/var/run/vgpu-extender/tls{{- end -}}
{{- define "vgpu-extender.caDir" -}}/var/run/vgpu-extender/ca{{- end -}}

{{/*
A probe handler for the extender; call with (dict "root" $ "path" "/healthz").
- listener beyond loopback: httpGet on the named port (HTTPS with TLS; the
  kubelet does not verify the certificate);
- loopback, plain HTTP: exec in the container, bash's /dev/tcp sends a
  HTTP/1.0 GET to 127.0.0.1 and requires a 200 status line (kubelet httpGet
  probes connect to the pod IP and cannot reach a loopback listener);
- loopback with TLS: exec, TCP connect only (the image has no TLS client
  that would trust a private CA), so readiness is not checked precisely.
*/}}
{{- define "vgpu-extender.probeHandler" -}}
{{- $root := .root -}}
{{- $port := int $root.Values.extender.listen.port -}}
{{- if not (include "vgpu-extender.loopback" $root) -}}
httpGet:
  path: {{ .path }}
  port: extender
  scheme: {{ ternary "HTTPS" "HTTP" (eq (include "vgpu-extender.tls" $root) "true") }}
{{- else if include "vgpu-extender.tls" $root -}}
exec:
  command:
    - /bin/bash
    - -c
    - exec 3<>/dev/tcp/{{ include "vgpu-extender.dialHost" $root }}/{{ $port }}
{{- else -}}
exec:
  command:
    - /bin/bash
    - -c
    - >-
      exec 3<>/dev/tcp/{{ include "vgpu-extender.dialHost" $root }}/{{ $port }} &&
      printf 'GET {{ .path }} HTTP/1.0\r\n\r\n' >&3 &&
      IFS= read -r -t 3 status <&3 &&
      [[ $status == "HTTP/1."?" 200"* ]]
{{- end -}}
{{- end -}}

{{/* Fails rendering on values that would deploy a broken scheduler. */}}
{{- define "vgpu-extender.validate" -}}
{{- if not (has .Values.extender.nodePolicy (list "binpack" "spread")) -}}
{{- fail (printf "extender.nodePolicy must be binpack or spread, not %q" (toString .Values.extender.nodePolicy)) -}}
{{- end -}}
{{- if not (has .Values.extender.gpuPolicy (list "binpack" "spread")) -}}
{{- fail (printf "extender.gpuPolicy must be binpack or spread, not %q" (toString .Values.extender.gpuPolicy)) -}}
{{- end -}}
{{- if not (has .Values.extender.logLevel (list "debug" "info" "warn" "error")) -}}
{{- fail (printf "extender.logLevel must be debug, info, warn or error, not %q" (toString .Values.extender.logLevel)) -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.kubeScheduler.leaderElect) -}}
{{- fail "kubeScheduler.leaderElect must be true with more than one replica: replicas without it would all schedule and bind" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.service.enabled) -}}
{{- fail "serviceMonitor.enabled needs service.enabled (Prometheus scrapes the Service's endpoints)" -}}
{{- end -}}
{{- if and .Values.service.enabled (include "vgpu-extender.loopback" .) -}}
{{- fail "service.enabled needs extender.listen.address beyond loopback (e.g. 0.0.0.0): a Service cannot reach a 127.0.0.1 listener" -}}
{{- end -}}
{{- end -}}
