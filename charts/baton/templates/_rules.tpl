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
{{- if $scope -}}
{{- $join = printf "%s{%s}" $join $scope -}}
{{- end -}}
- name: baton
  rules:
    - alert: BatonNoLeader
      expr: |-
        max by (namespace, lease) (baton_leader * {{ $join }}) == 0
      for: {{ $r.noLeaderFor }}
      labels:
        severity: critical
      annotations:
        summary: {{ `No pod of Lease {{ $labels.namespace }}/{{ $labels.lease }} is the leader: the bot is not polling` | quote }}
        description: {{`Every baton sidecar of this Lease has been a standby for {{ $for }}. Check the Lease (kubectl -n {{ $labels.namespace }} get lease {{ $labels.lease }} -o yaml) and the sidecars' /readyz and logs.` | replace "{{ $for }}" $r.noLeaderFor | quote }}
    - alert: BatonTwoLeaders
      expr: |-
        sum by (namespace, lease) (baton_leader * {{ $join }}) > 1
      for: {{ $r.twoLeadersFor }}
      labels:
        severity: critical
      annotations:
        summary: {{ `{{ $value }} pods of Lease {{ $labels.namespace }}/{{ $labels.lease }} report leadership at once` | quote }}
        description: {{ `Two workers may be polling (Telegram answers 409 Conflict and work is done twice). Compare kubectl -n {{ $labels.namespace }} get pods -L baton/role with the Lease holder.` | quote }}
    - alert: BatonHandoffAcquireSlow
      expr: |-
        histogram_quantile(0.99, sum by (namespace, lease, le) (rate(baton_handoff_acquire_seconds_bucket[30m]) * {{ $join }})) > {{ $r.slowAcquireSeconds }}
      labels:
        severity: warning
      annotations:
        summary: {{ `Standbys of Lease {{ $labels.namespace }}/{{ $labels.lease }} take {{ $value | humanizeDuration }} to acquire a released Lease (p99, 30m)` | quote }}
        description: {{ `A handoff should take a few API round trips. Slow acquisition points at a slow or overloaded API server, or at network trouble between the pods and the API server.` | quote }}
    - alert: BatonHandoffPauseSlow
      expr: |-
        histogram_quantile(0.9, sum by (namespace, lease, le) (rate(baton_handoff_pause_seconds_bucket[30m]) * {{ $join }})) > {{ $r.slowPauseSeconds }}
      labels:
        severity: warning
      annotations:
        summary: {{ `Workers of Lease {{ $labels.namespace }}/{{ $labels.lease }} take {{ $value | humanizeDuration }} to pause during handoffs (p90, 30m)` | quote }}
        description: {{ `The handoff waits for the worker to confirm its pause (POST /paused) or for the drain time. A worker that never confirms makes every handoff wait BATON_PAUSE_ACK_TIMEOUT or BATON_DRAIN; see the outcome label of baton_handoff_pause_seconds.` | quote }}
    - alert: BatonLeaseRenewFailing
      expr: |-
        sum by (namespace, lease) (rate(baton_lease_renew_duration_seconds_count{result!="success"}[5m]) * {{ $join }}) > 0
      for: {{ $r.renewFailuresFor }}
      labels:
        severity: warning
      annotations:
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
        summary: {{ `Leader {{ $labels.pod }} of Lease {{ $labels.namespace }}/{{ $labels.lease }} last renewed {{ $value | humanizeDuration }} ago` | quote }}
        description: {{ `A healthy leader renews every BATON_RETRY_PERIOD. The sidecar may be stuck (its /healthz fails when a request to the API server stays unsettled for twice the request timeout) or cut off from the API server.` | quote }}
    - alert: BatonSidecarNotReady
      expr: |-
        baton_ready * {{ $join }} == 0
      for: {{ $r.notReadyFor }}
      labels:
        severity: warning
      annotations:
        summary: {{ `The baton sidecar of {{ $labels.namespace }}/{{ $labels.pod }} (Lease {{ $labels.lease }}) is not ready` | quote }}
        description: {{`Its /readyz lists what is missing (API server unreachable, Lease not read, RBAC, worker not found or without signal handlers), each item naming the fix: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c SIDECAR` | replace "SIDECAR" .Values.sidecar.name | quote }}
{{- end -}}
