{{/*
Internal helpers. Every template here (and in _baton.tpl) reads only .Values, .Release and
.Capabilities, so that another chart can call them with
  (dict "Values" .Values.baton "Release" .Release "Capabilities" .Capabilities)
and get the same names and objects as this chart renders itself. The chart's name is fixed ("baton")
rather than read from .Chart, which is the caller's chart in that case.
*/}}

{{- define "baton.name" -}}
{{- default "baton" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "baton.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "baton" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Lease's name: leaseName, else the full name. */}}
{{- define "baton.leaseName" -}}
{{- default (include "baton.fullname" .) .Values.leaseName -}}
{{- end -}}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "baton.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "baton.labels" -}}
{{ include "baton.selectorLabels" . }}
app.kubernetes.io/part-of: baton
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Chart }}
helm.sh/chart: {{ printf "%s-%s" .Name .Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .AppVersion | quote }}
{{- end }}
{{- end -}}

{{- define "baton.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/* A duration like 15s, 500ms or 1m30s (BATON_* syntax) in seconds, as a string; callers pipe it to float64. */}}
{{- define "baton.seconds" -}}
{{- $units := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" (toString .) -1 -}}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . | float64 -}}
{{- $unit := regexReplaceAll "^[0-9]+(\\.[0-9]+)?" . "" -}}
{{- $total = addf $total (mulf $n (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/*
The cluster's version as MAJOR.MINOR.PATCH (v1.31.4-eks-… → v1.31.4). An unstamped development build
reports v0.0.0-master+$Format:%H$, which is not semver: it becomes v0.0.0 and counts as "unknown/old".
*/}}
{{- define "baton.kubeVersion" -}}
{{- default "v0.0.0" (regexFind "^v?[0-9]+\\.[0-9]+\\.[0-9]+" .Capabilities.KubeVersion.Version) -}}
{{- end -}}

{{/* The UID the sidecar runs as: sidecar.runAsUser, the bot's, the pod's, or none (the image's 1000). */}}
{{- define "baton.sidecarUser" -}}
{{- $s := .Values.sidecar -}}
{{- $bot := (.Values.bot | default dict).securityContext | default dict -}}
{{- $pod := .Values.podSecurityContext | default dict -}}
{{- if $s.capKill -}}
0
{{- else if not (kindIs "invalid" $s.runAsUser) -}}
{{- $s.runAsUser -}}
{{- else if not (kindIs "invalid" $bot.runAsUser) -}}
{{- $bot.runAsUser -}}
{{- else if not (kindIs "invalid" $pod.runAsUser) -}}
{{- $pod.runAsUser -}}
{{- end -}}
{{- end -}}

{{- define "baton.sidecarGroup" -}}
{{- $s := .Values.sidecar -}}
{{- $bot := (.Values.bot | default dict).securityContext | default dict -}}
{{- $pod := .Values.podSecurityContext | default dict -}}
{{- if not (kindIs "invalid" $s.runAsGroup) -}}
{{- $s.runAsGroup -}}
{{- else if not (kindIs "invalid" $bot.runAsGroup) -}}
{{- $bot.runAsGroup -}}
{{- else if not (kindIs "invalid" $pod.runAsGroup) -}}
{{- $pod.runAsGroup -}}
{{- end -}}
{{- end -}}

{{/*
Refuses settings that would break a handoff or that the sidecar would refuse at startup (it exits 2),
so that `helm install` fails instead of a pod crash-looping.
*/}}
{{- define "baton.validate" -}}
{{- $s := .Values.sidecar -}}
{{- $lease := include "baton.seconds" $s.leaseDuration | float64 -}}
{{- $renew := include "baton.seconds" $s.renewDeadline | float64 -}}
{{- $retry := include "baton.seconds" $s.retryPeriod | float64 -}}
{{- $ack := include "baton.seconds" $s.pauseAckTimeout | float64 -}}
{{- $drain := include "baton.seconds" $s.drain | float64 -}}
{{- if lt (subf $lease $renew) 1.0 -}}
{{- fail (printf "sidecar.leaseDuration (%s) must exceed sidecar.renewDeadline (%s) by at least 1s, so that a leader that loses the API pauses its bot before a standby may take over" $s.leaseDuration $s.renewDeadline) -}}
{{- end -}}
{{- if le $renew (mulf 1.2 $retry) -}}
{{- fail (printf "sidecar.renewDeadline (%s) must exceed 1.2 x sidecar.retryPeriod (%s) (client-go's rule)" $s.renewDeadline $s.retryPeriod) -}}
{{- end -}}
{{- $kube := include "baton.kubeVersion" . -}}
{{- if and $s.native (semverCompare ">=1.0.0-0" $kube) (semverCompare "<1.29.0-0" $kube) -}}
{{- fail (printf "sidecar.native needs Kubernetes 1.29 or newer (an init container with restartPolicy: Always); this cluster is %s: set sidecar.native=false" $kube) -}}
{{- end -}}
{{- $release := maxf 1.0 (divf $renew 2.0) -}}
{{- $need := addf (maxf $ack $drain) $release -}}
{{- $sleep := .Values.bot.preStop.sleepSeconds | float64 -}}
{{- if lt $sleep $need -}}
{{- fail (printf "bot.preStop.sleepSeconds (%v) is shorter than the longest handoff, max(sidecar.pauseAckTimeout %s, sidecar.drain %s) + max(1s, sidecar.renewDeadline/2) = %vs: the bot would get SIGTERM before the sidecar has handed over. Raise bot.preStop.sleepSeconds to %v or more, or shorten sidecar.pauseAckTimeout" .Values.bot.preStop.sleepSeconds $s.pauseAckTimeout $s.drain $need (ceil $need)) -}}
{{- end -}}
{{- /* The Fetch standard's "bad ports" (src/http/listen.ts BAD_FETCH_PORTS; a unit test keeps them equal). */ -}}
{{- $badPorts := list 1 7 9 11 13 15 17 19 20 21 22 23 25 37 42 43 53 69 77 79 87 95 101 102 103 104 109 110 111 113 115 117 119 123 135 137 139 143 161 179 389 427 465 512 513 514 515 526 530 531 532 540 548 554 556 563 587 601 636 989 990 993 995 1719 1720 1723 2049 3659 4045 4190 5060 5061 6000 6566 6665 6666 6667 6668 6669 6679 6697 10080 -}}
{{- $listenPort := regexFind "[0-9]+$" (toString $s.listen) | int -}}
{{- if has $listenPort $badPorts -}}
{{- fail (printf "sidecar.listen (%s) uses port %d, a \"bad port\" of the Fetch standard that the bot's fetch() refuses to connect to: choose another port, e.g. 127.0.0.1:4040" $s.listen $listenPort) -}}
{{- end -}}
{{- if has (int $s.probePort) $badPorts -}}
{{- fail (printf "sidecar.probePort (%v) is a \"bad port\" of the Fetch standard that fetch() and browsers refuse to connect to: choose another port, e.g. 4041" $s.probePort) -}}
{{- end -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.bot.preStop.sleepSeconds) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be longer than bot.preStop.sleepSeconds (%v): the bot gets SIGTERM when the sleep ends and needs time to shut down before the kubelet SIGKILLs it" .Values.terminationGracePeriodSeconds .Values.bot.preStop.sleepSeconds) -}}
{{- end -}}
{{- end -}}
