{{/*
baton's alert rules, as the `groups:` list of a Prometheus rule file. Used by prometheusrule.yaml and
rendered into deploy/prometheus-rules.yaml (scope: all) by scripts/render-deploy.ts.

Every baton_* series but baton_info carries only the labels Prometheus adds to a target; baton_info adds
`lease`. The rules join on the target labels `namespace` and `pod` (which a PodMonitor, a ServiceMonitor
and the usual kubernetes-pods scrape config all set) to group by Lease:
  <series> * on (namespace, pod) group_left (lease) baton_info{<scope>}
*/}}
{{- define "baton.alertGroups" -}}
{{- $r := .Values.monitoring.prometheusRule -}}
{{- $scope := "" -}}
{{- if eq $r.scope "release" -}}
{{- $scope = printf "namespace=%q, lease=%q" .Release.Namespace (include "baton.leaseName" .) -}}
{{- end -}}
{{- $join := "on (namespace, pod) group_left (lease) baton_info" -}}
{{- $info := "baton_info" -}}
{{- if $scope -}}
{{- $join = printf "%s{%s}" $join $scope -}}
{{- $info = printf "baton_info{%s}" $scope -}}
{{- end -}}
{{- $runbook := $r.runbookUrl -}}
- name: baton
  rules:
    - alert: BatonNoLeader
      expr: |-
        max by (namespace, lease) (baton_leader * {{ $join }}) == 0
      for: {{ $r.noLeaderFor }}
      labels:
        severity: critical
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonNoLeader") | quote }}
        summary: {{ `No pod of Lease {{ $labels.namespace }}/{{ $labels.lease }} is the leader: the bot is not polling` | quote }}
        description: {{`Every baton sidecar of this Lease has been a standby for {{ $for }}. Check the Lease (kubectl -n {{ $labels.namespace }} get lease {{ $labels.lease }} -o yaml) and the sidecars' /readyz and logs.` | replace "{{ $for }}" $r.noLeaderFor | quote }}
    - alert: BatonTwoLeaders
      expr: |-
        sum by (namespace, lease) (baton_leader * {{ $join }}) > 1
      for: {{ $r.twoLeadersFor }}
      labels:
        severity: critical
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonTwoLeaders") | quote }}
        summary: {{ `{{ $value }} pods of Lease {{ $labels.namespace }}/{{ $labels.lease }} report leadership at once` | quote }}
        description: {{ `Two workers may be polling (Telegram answers 409 Conflict and work is done twice). Compare kubectl -n {{ $labels.namespace }} get pods -L baton/role with the Lease holder.` | quote }}
    - alert: BatonHandoffAcquireSlow
      expr: |-
        histogram_quantile(0.99, sum by (namespace, lease, le) (rate(baton_handoff_acquire_seconds_bucket[30m]) * {{ $join }})) > {{ $r.slowAcquireSeconds }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonHandoffAcquireSlow") | quote }}
        summary: {{ `Standbys of Lease {{ $labels.namespace }}/{{ $labels.lease }} take {{ $value | humanizeDuration }} to acquire a released Lease (p99, 30m)` | quote }}
        description: {{ `A handoff should take a few API round trips. Slow acquisition points at a slow or overloaded API server, or at network trouble between the pods and the API server.` | quote }}
    - alert: BatonHandoffPauseSlow
      expr: |-
        histogram_quantile(0.9, sum by (namespace, lease, le) (rate(baton_handoff_pause_seconds_bucket[30m]) * {{ $join }})) > {{ $r.slowPauseSeconds }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonHandoffPauseSlow") | quote }}
        summary: {{ `Workers of Lease {{ $labels.namespace }}/{{ $labels.lease }} take {{ $value | humanizeDuration }} to pause during handoffs (p90, 30m)` | quote }}
        description: {{ `The handoff waits for the worker to confirm its pause (POST /paused) or for the drain time. A worker that never confirms makes every handoff wait BATON_PAUSE_ACK_TIMEOUT or BATON_DRAIN; see the outcome label of baton_handoff_pause_seconds.` | quote }}
    - alert: BatonLeaseRenewFailing
      expr: |-
        sum by (namespace, lease) (rate(baton_lease_renew_duration_seconds_count{result!="success"}[5m]) * {{ $join }}) > 0
      for: {{ $r.renewFailuresFor }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonLeaseRenewFailing") | quote }}
        summary: {{ `The leader of Lease {{ $labels.namespace }}/{{ $labels.lease }} keeps failing to renew it` | quote }}
        description: {{ `Renew attempts end in conflict or error. A leader that cannot renew for BATON_RENEW_DEADLINE pauses its worker and steps down; check the API server and the sidecar's logs (result label of baton_lease_renew_duration_seconds).` | quote }}
    - alert: BatonLeaderRenewStale
      expr: |-
        (time() - baton_lease_last_renew_timestamp_seconds) * {{ $join }} > {{ $r.renewStaleSeconds }}
          and on (namespace, pod) baton_leader == 1
      for: 1m
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonLeaderRenewStale") | quote }}
        summary: {{ `Leader {{ $labels.pod }} of Lease {{ $labels.namespace }}/{{ $labels.lease }} last renewed {{ $value | humanizeDuration }} ago` | quote }}
        description: {{ `A healthy leader renews every BATON_RENEW_INTERVAL (5 s by default). The sidecar may be stuck (its /healthz fails when a request to the API server stays unsettled for twice the request timeout) or cut off from the API server.` | quote }}
    - alert: BatonSidecarNotReady
      expr: |-
        baton_ready * {{ $join }} == 0
      for: {{ $r.notReadyFor }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook (lower "BatonSidecarNotReady") | quote }}
        summary: {{ `The baton sidecar of {{ $labels.namespace }}/{{ $labels.pod }} (Lease {{ $labels.lease }}) is not ready` | quote }}
        description: {{`Its /readyz lists what is missing (API server unreachable, Lease not read, RBAC, worker not found or without signal handlers), each item naming the fix: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c SIDECAR` | replace "SIDECAR" .Values.sidecar.name | quote }}
    - alert: BatonSidecarsAbsent
      # BatonNoLeader needs series to compare: when no sidecar of a Lease reports at all (every pod
      # crash-looping or ImagePullBackOff, the scrape broken), it is silent. This one fires instead: for
      # a Lease seen in the last hour that reports no more, or (absent) when none reports at all.
      expr: |-
        (max by (namespace, lease) (max_over_time({{ $info }}[1h])) unless max by (namespace, lease) ({{ $info }}))
          or absent({{ $info }})
      for: {{ $r.absentFor }}
      labels:
        severity: critical
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook "batonsidecarsabsent" | quote }}
        summary: {{ `No baton sidecar of Lease {{ with $labels.namespace }}{{ . }}/{{ end }}{{ with $labels.lease }}{{ . }}{{ else }}(any){{ end }} reports metrics: the bot is probably not polling` | quote }}
        description: {{ `No baton_info series has been scraped for {{ $for }}: the pods are not running (crash loop, ImagePullBackOff, unschedulable) or Prometheus cannot scrape them. Check kubectl get pods -l baton/lease and the PodMonitor/ServiceMonitor targets.` | replace "{{ $for }}" $r.absentFor | quote }}
    - alert: BatonLeaderWorkerNotRunning
      expr: |-
        (baton_leader * {{ $join }} == 1) and on (namespace, pod) (baton_ready == 0)
      for: {{ $r.leaderNotReadyFor }}
      labels:
        severity: critical
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook "batonleaderworkernotrunning" | quote }}
        summary: {{ `Leader {{ $labels.pod }} of Lease {{ $labels.namespace }}/{{ $labels.lease }} holds the Lease but is not ready: its worker is not running` | quote }}
        description: {{ `The pod that holds the Lease reports not ready: its worker process is gone or has not installed its signal handlers (or the API server is unreachable), so nobody polls while the Lease is held. Its /readyz lists what is missing: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c SIDECAR` | replace "SIDECAR" .Values.sidecar.name | quote }}
    - alert: BatonLeaderFlapping
      expr: |-
        sum by (namespace, lease) (increase(baton_leader_transitions_total{change="acquired"}[30m]) * {{ $join }}) > {{ $r.flappingAcquisitions }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook "batonleaderflapping" | quote }}
        summary: {{ `The Lease {{ $labels.namespace }}/{{ $labels.lease }} changed hands {{ $value | printf "%.0f" }} times in 30 minutes` | quote }}
        description: {{ `A rolling update moves the Lease once per pod; more means leaders keep losing it (renew failures, pods restarting, a worker that keeps disappearing). See the LeaderLost events: kubectl -n {{ $labels.namespace }} get events --field-selector involvedObject.name={{ $labels.lease }}` | quote }}
    - alert: BatonWorkerSignalFailing
      expr: |-
        sum by (namespace, pod, lease, signal) (increase(baton_worker_signals_total{result="failed"}[5m]) * {{ $join }}) > 0
      for: {{ $r.signalFailuresFor }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook "batonworkersignalfailing" | quote }}
        summary: {{ `The baton sidecar of {{ $labels.namespace }}/{{ $labels.pod }} cannot deliver {{ $labels.signal }} to its worker` | quote }}
        description: {{ `Signals to the worker fail (EPERM: the sidecar runs as another UID without CAP_KILL; ESRCH: the worker exited). The worker does not start or pause when told. The sidecar's log names the cause: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c SIDECAR` | replace "SIDECAR" .Values.sidecar.name | quote }}
    - alert: BatonWorkerRestarting
      expr: |-
        sum by (namespace, pod, lease) (increase(baton_worker_restarts_total[30m]) * {{ $join }}) > {{ $r.workerRestarts }}
      labels:
        severity: warning
      annotations:
        runbook_url: {{ printf "%s#%s" $runbook "batonworkerrestarting" | quote }}
        summary: {{ `The worker of {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ $value | printf "%.0f" }} times in 30 minutes` | quote }}
        description: {{ `The bot process keeps being replaced (crashes, OOM kills, liveness failures). While it restarts nobody polls if it is the leader. kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }} shows the bot container's last state and restart count.` | quote }}
{{- end -}}
