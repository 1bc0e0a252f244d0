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
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "baton.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/* The bot's image; its repository and a tag or digest are required (an empty tag would render "repo:"). */}}
{{- define "baton.botImage" -}}
{{- $i := .Values.bot.image -}}
{{- $_ := required "bot.image.repository is required: the image of your bot (e.g. --set bot.image.repository=registry.example.com/my-bot)" $i.repository -}}
{{- if and (not $i.digest) (eq (toString (default "" $i.tag)) "") -}}
{{- fail "bot.image.tag or bot.image.digest is required: the version of your bot's image to run (e.g. --set bot.image.tag=1.4.2)" -}}
{{- end -}}
{{- include "baton.image" $i -}}
{{- end -}}

{{/*
The sidecar's image: by default the one each release publishes (ghcr.io/<owner>/baton), or one built from the
Dockerfile. The tag defaults to the chart's appVersion (a parent chart that includes the named templates
passes no .Chart, so it sets sidecar.image.tag).
*/}}
{{- define "baton.sidecarImage" -}}
{{- $i := .Values.sidecar.image -}}
{{- $_ := required "sidecar.image.repository is required: the baton image (the chart's default is the one each release publishes, ghcr.io/baton-sidecar/baton), or one you built from baton's Dockerfile (README: Add baton to your bot)" $i.repository -}}
{{- $tag := toString (default "" $i.tag) -}}
{{- if and (eq $tag "") .Chart -}}{{- $tag = .Chart.AppVersion -}}{{- end -}}
{{- if and (not $i.digest) (eq $tag "") -}}
{{- fail "sidecar.image.tag or sidecar.image.digest is required (the chart's appVersion is the default, which a parent chart does not pass)" -}}
{{- end -}}
{{- include "baton.image" (dict "repository" $i.repository "tag" $tag "digest" $i.digest) -}}
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

{{/*
"true" when the version says something about the cluster. `helm template` without --kube-version renders
for helm's built-in default (v1.20.0 in a helm built without version stamps), which no cluster that can
run this chart has: versions below 1.21 (and unstamped builds) count as unknown, so offline rendering
works, and the features that need a newer cluster are refused only for a cluster known to be older.
*/}}
{{- define "baton.kubeVersionKnown" -}}
{{- if semverCompare ">=1.21.0-0" (include "baton.kubeVersion" .) -}}true{{- end -}}
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
{{- include "baton.refuseSidecarSettings" . -}}
{{- $s := .Values.sidecar -}}
{{- $renew := include "baton.seconds" $s.renewDeadline | float64 -}}
{{- $ack := include "baton.seconds" $s.pauseAckTimeout | float64 -}}
{{- $drain := include "baton.seconds" $s.drain | float64 -}}
{{- $kube := include "baton.kubeVersion" . -}}
{{- if and $s.native (include "baton.kubeVersionKnown" .) (semverCompare "<1.29.0-0" $kube) -}}
{{- fail (printf "sidecar.native needs Kubernetes 1.29 or newer (an init container with restartPolicy: Always); this cluster is %s. Set sidecar.native=false, or, rendering offline with helm template, pass --kube-version for the cluster you deploy to" $kube) -}}
{{- end -}}
{{- if and (eq .Values.bot.preStop.mode "sleep") (include "baton.kubeVersionKnown" .) (semverCompare "<1.30.0-0" $kube) -}}
{{- fail (printf "bot.preStop.mode=sleep (the kubelet's sleep action) needs Kubernetes 1.30 or newer; this cluster is %s. Set bot.preStop.mode=exec (the bot's image then needs a sleep binary), or, rendering offline with helm template, pass --kube-version for the cluster you deploy to" $kube) -}}
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

{{/*
"true" when a monitoring object may be rendered: it is enabled and the cluster serves its API (the
prometheus-operator CRDs). Without them the object is left out (NOTES says so), so the install still
works; with `required: true` the render fails instead, naming the fix. Takes (list $ valuesPath values apiVersion/Kind).
*/}}
{{- define "baton.monitoringObject" -}}
{{- $root := index . 0 -}}{{- $path := index . 1 -}}{{- $v := index . 2 -}}{{- $api := index . 3 -}}
{{- if $v.enabled -}}
{{- if $root.Capabilities.APIVersions.Has $api -}}
true
{{- else if $v.required -}}
{{- fail (printf "%s.required is true, but the cluster serves no %s: install the prometheus-operator CRDs first, or, rendering offline with helm template, pass --api-versions %s" $path $api $api) -}}
{{- end -}}
{{- end -}}
{{- end -}}
