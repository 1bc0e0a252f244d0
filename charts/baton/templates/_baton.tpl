{{/*
=====================================================================================================
The named templates other charts include to add baton to their own pods (see README.md, "Add baton to
your own chart"). Each one takes a context with .Values (baton's values), .Release and .Capabilities:
this chart passes its own `.`; a parent chart that has baton as a dependency passes
  {{- $baton := dict "Values" .Values.baton "Release" .Release "Capabilities" .Capabilities }}
The output is YAML without leading indentation; pipe it through nindent.

  baton.sidecarContainer   one list item: the sidecar container (for containers:, or for
                           initContainers: when sidecar.native is true)
  baton.podSettings        pod spec fields: shareProcessNamespace, terminationGracePeriodSeconds,
                           serviceAccountName, automountServiceAccountToken
  baton.podSecurityContext the pod's securityContext (podSecurityContext)
  baton.preStop            the bot container's `lifecycle:` content (the preStop sleep, bot.preStop.mode)
  baton.botEnv             list items for the bot's env: BATON_URL (where the local API is)
  baton.volumes            list items for volumes: (the sidecar's ServiceAccount token)
  baton.podLabels          pod labels: baton/lease (the PodMonitor and Service select on it)
  baton.rbacRules          the Role's rules (least privilege), to put in a Role of your own
  baton.rbac               ServiceAccount, Role and RoleBinding documents
  baton.validate           (in _helpers.tpl) nothing, or a fail naming a broken timing rule
=====================================================================================================
*/}}

{{- define "baton.sidecarContainer" -}}
{{- $s := .Values.sidecar -}}
{{- $uid := include "baton.sidecarUser" . -}}
{{- $gid := include "baton.sidecarGroup" . -}}
- name: {{ $s.name }}
  image: {{ include "baton.sidecarImage" . | quote }}
  imagePullPolicy: {{ $s.image.pullPolicy }}
  {{- if $s.native }}
  # A native sidecar: starts before the bot, stops after it, hands over on the pod's deletionTimestamp.
  restartPolicy: Always
  {{- end }}
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: BATON_LEASE_NAME
      value: {{ include "baton.leaseName" . | quote }}
    - name: BATON_TARGET_CONTAINER
      value: {{ default .Values.bot.name $s.targetContainer | quote }}
    - name: BATON_LEASE_DURATION
      value: {{ $s.leaseDuration | quote }}
    - name: BATON_RENEW_DEADLINE
      value: {{ $s.renewDeadline | quote }}
    - name: BATON_RETRY_PERIOD
      value: {{ $s.retryPeriod | quote }}
    {{- if ne (toString (default "" $s.renewInterval)) "" }}
    - name: BATON_RENEW_INTERVAL
      value: {{ $s.renewInterval | quote }}
    {{- end }}
    - name: BATON_PAUSE_ACK_TIMEOUT
      value: {{ $s.pauseAckTimeout | quote }}
    - name: BATON_DRAIN
      value: {{ $s.drain | quote }}
    - name: BATON_WORKER_GRACE
      value: {{ $s.workerGrace | quote }}
    - name: BATON_YIELD_TO_NEWER
      value: {{ default "1s" $s.yieldToNewer | quote }}
    - name: BATON_TAKEOVER
      value: {{ default "300ms" $s.takeover | quote }}
    - name: BATON_START_SIGNAL
      value: {{ $s.startSignal | quote }}
    - name: BATON_PAUSE_SIGNAL
      value: {{ $s.pauseSignal | quote }}
    - name: BATON_LISTEN
      value: {{ $s.listen | quote }}
    - name: BATON_PROBE_LISTEN
      value: {{ printf "0.0.0.0:%v" $s.probePort | quote }}
    - name: BATON_LOG_LEVEL
      value: {{ $s.logLevel | quote }}
    - name: BATON_POD_LABEL
      value: {{ ternary "true" "false" (ne ((.Values.rbac | default dict).podLabel | toString) "false") | quote }}
    {{- with $s.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: baton-metrics
      containerPort: {{ $s.probePort }}
      protocol: TCP
  livenessProbe:
    httpGet:
      path: /healthz
      port: baton-metrics
    {{- with $s.livenessProbe }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: baton-metrics
    {{- with $s.readinessProbe }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $s.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $sc := dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "seccompProfile" (dict "type" "RuntimeDefault") -}}
  {{- if $s.capKill }}
  {{- $_ := set $sc "runAsNonRoot" false -}}
  {{- $_ := set $sc "capabilities" (dict "drop" (list "ALL") "add" (list "KILL")) -}}
  {{- else }}
  {{- $_ := set $sc "runAsNonRoot" true -}}
  {{- $_ := set $sc "capabilities" (dict "drop" (list "ALL")) -}}
  {{- end }}
  {{- if ne $uid "" }}{{ $_ := set $sc "runAsUser" ($uid | int64) }}{{ end }}
  {{- if ne $gid "" }}{{ $_ := set $sc "runAsGroup" ($gid | int64) }}{{ end }}
  securityContext:
    {{- toYaml (mergeOverwrite $sc (deepCopy ($s.securityContext | default dict))) | nindent 4 }}
  {{- if or $s.isolateToken $s.extraVolumeMounts }}
  volumeMounts:
    {{- if $s.isolateToken }}
    - name: baton-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- end }}
    {{- with $s.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end -}}

{{- define "baton.podSettings" -}}
# baton: the sidecar sees and signals the bot's process (same UID or CAP_KILL; no ptrace needed).
shareProcessNamespace: true
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
serviceAccountName: {{ include "baton.serviceAccountName" . }}
{{- if .Values.sidecar.isolateToken }}
# The token goes to the sidecar only (baton.volumes), not to the bot.
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{- define "baton.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "baton.preStop" -}}
{{- $p := .Values.bot.preStop -}}
{{- $mode := $p.mode -}}
# Keeps the bot alive while the sidecar hands the Lease over (see bot.preStop.sleepSeconds).
preStop:
{{- if eq $mode "sleep" }}
  sleep:
    seconds: {{ $p.sleepSeconds }}
{{- else }}
  exec:
    command: ["sleep", "{{ $p.sleepSeconds }}"]
{{- end }}
{{- end -}}

{{- define "baton.botEnv" -}}
- name: BATON_URL
  value: {{ printf "http://%s" .Values.sidecar.listen | quote }}
{{- end -}}

{{- define "baton.volumes" -}}
{{- if .Values.sidecar.isolateToken -}}
# What the kubelet would mount into every container, mounted into the sidecar only.
- name: baton-token
  projected:
    # capKill (the hardened layout): the sidecar is UID 0 and the bot another UID, so the kubelet leaves
    # the files root's; 0400 keeps them root's alone. Same UID: the kubelet makes the token 0600 and
    # that UID's (the mode below is then for ca.crt and namespace).
    defaultMode: {{ ternary "0400" "0444" (eq (toString .Values.sidecar.capKill) "true") }}
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end }}
{{- end -}}

{{- define "baton.podLabels" -}}
baton/lease: {{ include "baton.leaseName" . }}
{{- end -}}

{{- define "baton.rbacRules" -}}
{{- $label := (.Values.rbac | default dict).podLabel -}}
{{- if kindIs "invalid" $label }}{{ $label = true }}{{ end -}}
# What each verb is for: docs/security.md. create cannot be limited by name (the authorizer does not
# know the name of an object not yet created); the admission policy limits it to the Lease's name.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
# get, update: acquire and renew (client-go's rules); list, watch (fieldSelector=metadata.name, which
# RBAC authorises per name): learn of a release or a new holder at once.
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ include "baton.leaseName" . | quote }}]
  verbs: [get, list, watch, update]
# LeaderElected / LeaderLost / LeaderReleased, on the Lease and on the Pod.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
# Its own Pod (its name is not known in advance, so RBAC cannot name it): list, watch with
# fieldSelector=metadata.name for the deletionTimestamp and the containers' IDs, and with
# labelSelector=baton/lease=<lease> for its peers' revision and readiness (rule Y1)
{{- if $label }}; patch for the label
# baton/role (the admission policy refuses every other pod write of this ServiceAccount).
{{- else }} (rbac.podLabel is
# false: no label, no pod write).
{{- end }}
- apiGroups: [""]
  resources: [pods]
  verbs: [{{ if $label }}list, watch, patch{{ else }}list, watch{{ end }}]
{{- end -}}

{{- define "baton.rbac" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "baton.serviceAccountName" . }}
  labels:
    {{- include "baton.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if .Values.sidecar.isolateToken }}
automountServiceAccountToken: false
{{- end }}
{{- end }}
{{- if .Values.rbac.create }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "baton.fullname" . }}
  labels:
    {{- include "baton.labels" . | nindent 4 }}
rules:
  {{- include "baton.rbacRules" . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "baton.fullname" . }}
  labels:
    {{- include "baton.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "baton.fullname" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "baton.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end -}}
