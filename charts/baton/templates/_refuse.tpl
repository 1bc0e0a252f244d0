{{/*
The settings the sidecar itself would refuse at startup (src/config.ts: it exits 2 and the pod
crash-loops), refused here at render time with the sidecar's own words, prefixed by the value's path.
test/integration/chart/refusals.test.ts feeds the same bad values to the sidecar and to helm and
compares the messages. values.schema.json only checks types, so that these messages are the ones users see.
*/}}

{{/* Linux signal names (Node's os.constants.signals), which BATON_*_SIGNAL may name. */}}
{{- define "baton.linuxSignals" -}}
SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGIOT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGCHLD SIGSTKFLT SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPOLL SIGPWR SIGSYS
{{- end -}}

{{/* A signal as the sidecar normalizes it (upper case, SIG prefix), or a fail in its words. Takes (list path env value). */}}
{{- define "baton.signal" -}}
{{- $path := index . 0 -}}{{- $env := index . 1 -}}{{- $value := toString (index . 2) -}}
{{- $sig := upper (trim $value) -}}
{{- $full := ternary $sig (printf "SIG%s" $sig) (hasPrefix "SIG" $sig) -}}
{{- /* Rule C3 (docs/protocol.md): src/config.ts WORKER_SIGNALS — catchable, never sent by the system, fatal to a worker without a handler. */ -}}
{{- if not (has $full (list "SIGUSR1" "SIGUSR2" "SIGHUP" "SIGALRM" "SIGVTALRM")) -}}
{{- fail (printf "%s: %s=%q is not a usable signal: use SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, SIGVTALRM (catchable, and fatal to a worker that forgot its handler)" $path $env $value) -}}
{{- end -}}
{{- $full -}}
{{- end -}}

{{/* A duration in milliseconds (as a string), or a fail in the sidecar's words. Takes (list path env value). */}}
{{- define "baton.durationMs" -}}
{{- $path := index . 0 -}}{{- $env := index . 1 -}}{{- $value := toString (index . 2) -}}
{{- if not (regexMatch "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$" (trim $value)) -}}
{{- fail (printf "%s: %s=%q is not a duration: write it with a unit, like 15s, 500ms or 1m30s" $path $env $value) -}}
{{- end -}}
{{- mulf (include "baton.seconds" (trim $value) | float64) 1000.0 -}}
{{- end -}}

{{/* host:port as the sidecar parses it: (list host port), or a fail in its words. Takes (list path env value). */}}
{{- define "baton.hostPort" -}}
{{- $path := index . 0 -}}{{- $env := index . 1 -}}{{- $value := toString (index . 2) -}}
{{- $example := printf "%s: expected host:port such as 127.0.0.1:4040 or [::1]:4040" $env -}}
{{- $re := "^(?:\\[([^\\]]+)\\]|([^:\\[\\]]+)):([0-9]{1,5})$" -}}
{{- if not (regexMatch $re (trim $value)) -}}
{{- fail (printf "%s: %s, got %q (put an IPv6 address in brackets): fix %s" $path $example $value $env) -}}
{{- end -}}
{{- $v6 := regexReplaceAll $re (trim $value) "${1}" -}}
{{- $host := ternary $v6 (regexReplaceAll $re (trim $value) "${2}") (ne $v6 "") -}}
{{- $port := regexReplaceAll $re (trim $value) "${3}" | int -}}
{{- if and (ne $v6 "") (not (regexMatch "^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$" $v6)) -}}
{{- fail (printf "%s: %s: %q in brackets is not an IPv6 address: fix %s" $path $example $v6 $env) -}}
{{- end -}}
{{- if gt $port 65535 -}}
{{- fail (printf "%s: %s: port %d is above 65535: fix %s" $path $example $port $env) -}}
{{- end -}}
{{- list $host $port | toJson -}}
{{- end -}}

{{- define "baton.isLoopback" -}}
{{- $h := lower . -}}
{{- $v4 := trimPrefix "::ffff:" $h -}}
{{- $octet := "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])" -}}
{{- if or (has $h (list "localhost" "::1" "0:0:0:0:0:0:0:1")) (regexMatch (printf "^127\\.%s\\.%s\\.%s$" $octet $octet $octet) $v4) -}}true{{- end -}}
{{- end -}}

{{- define "baton.refuseSidecarSettings" -}}
{{- $s := .Values.sidecar -}}
{{- $lease := include "baton.leaseName" . -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$" $lease) -}}
{{- fail (printf "leaseName: BATON_LEASE_NAME=%q is not a valid object name: use lower-case letters, digits, '-' and '.'" $lease) -}}
{{- end -}}
{{- if gt (len $lease) 63 -}}
{{- fail (printf "leaseName: %q is longer than 63 characters: it is also the pods' baton/lease label; set a shorter leaseName" $lease) -}}
{{- end -}}
{{- $leaseMs := include "baton.durationMs" (list "sidecar.leaseDuration" "BATON_LEASE_DURATION" $s.leaseDuration) | float64 -}}
{{- $renewMs := include "baton.durationMs" (list "sidecar.renewDeadline" "BATON_RENEW_DEADLINE" $s.renewDeadline) | float64 -}}
{{- $retryMs := include "baton.durationMs" (list "sidecar.retryPeriod" "BATON_RETRY_PERIOD" $s.retryPeriod) | float64 -}}
{{- $timings := "sidecar.leaseDuration/renewDeadline/retryPeriod" -}}
{{- if lt $retryMs 100.0 -}}
{{- fail (printf "sidecar.retryPeriod: BATON_RETRY_PERIOD=%s would write the Lease (and wake every standby) that often: set at least 100ms" (trim (toString $s.retryPeriod))) -}}
{{- end -}}
{{- if le $leaseMs $renewMs -}}
{{- fail (printf "%s: BATON_LEASE_DURATION (%v ms) must be greater than BATON_RENEW_DEADLINE (%v ms): a leader must give up before a standby may take over" $timings $leaseMs $renewMs) -}}
{{- end -}}
{{- if le $renewMs (mulf 1.2 $retryMs) -}}
{{- fail (printf "%s: BATON_RENEW_DEADLINE (%v ms) must be greater than 1.2 × BATON_RETRY_PERIOD (%v ms): the leader needs at least one retry before its deadline" $timings $renewMs $retryMs) -}}
{{- end -}}
{{- if lt (subf $leaseMs $renewMs) 1000.0 -}}
{{- fail (printf "%s: BATON_LEASE_DURATION − BATON_RENEW_DEADLINE is %v ms; it must be at least 1000 ms so that a leader that cannot renew pauses its worker before another pod may acquire (for example 15s and 10s)" $timings (subf $leaseMs $renewMs)) -}}
{{- end -}}
{{- if or (ne (float64 (int64 $leaseMs)) $leaseMs) (ne (mod (int64 $leaseMs) 1000) 0) -}}
{{- fail (printf "%s: BATON_LEASE_DURATION (%v ms) must be whole seconds: the Lease stores leaseDurationSeconds" $timings $leaseMs) -}}
{{- end -}}
{{- /* The renew interval (src/election/rules.ts renewIntervalProblems); empty: the sidecar's default, a third of the lease duration. */ -}}
{{- if ne (toString (default "" $s.renewInterval)) "" -}}
{{- $intervalMs := include "baton.durationMs" (list "sidecar.renewInterval" "BATON_RENEW_INTERVAL" $s.renewInterval) | float64 -}}
{{- $maxIntervalMs := subf (subf $renewMs $retryMs) 1000.0 -}}
{{- if lt $intervalMs $retryMs -}}
{{- fail (printf "sidecar.renewInterval: BATON_RENEW_INTERVAL (%v ms) must be at least BATON_RETRY_PERIOD (%v ms): a failed renew is retried at the retry period, a successful one need not come sooner; set BATON_RENEW_INTERVAL to %vms or more" $intervalMs $retryMs $retryMs) -}}
{{- else if ge $intervalMs $renewMs -}}
{{- fail (printf "sidecar.renewInterval: BATON_RENEW_INTERVAL (%v ms) must be less than BATON_RENEW_DEADLINE (%v ms): the leader must try to renew before it gives up; leave BATON_RENEW_INTERVAL unset (a third of the lease duration)" $intervalMs $renewMs) -}}
{{- else if and (gt $intervalMs $retryMs) (gt $intervalMs $maxIntervalMs) -}}
{{- fail (printf "sidecar.renewInterval: BATON_RENEW_INTERVAL (%v ms) + BATON_RETRY_PERIOD (%v ms) + 1000 ms must not exceed BATON_RENEW_DEADLINE (%v ms): a failed renew needs one retry that lands before the worker kit's last look at the Lease; set BATON_RENEW_INTERVAL to at most %vms" $intervalMs $retryMs $renewMs (maxf $retryMs $maxIntervalMs)) -}}
{{- end -}}
{{- end -}}
{{- $start := include "baton.signal" (list "sidecar.startSignal" "BATON_START_SIGNAL" $s.startSignal) -}}
{{- $pause := include "baton.signal" (list "sidecar.pauseSignal" "BATON_PAUSE_SIGNAL" $s.pauseSignal) -}}
{{- if eq $start $pause -}}
{{- fail (printf "sidecar.startSignal/pauseSignal: BATON_START_SIGNAL and BATON_PAUSE_SIGNAL are both %s: they must differ" $start) -}}
{{- end -}}
{{- /* Rule C3: a wait too short to let a pause land would release the Lease beside a working worker. */ -}}
{{- $ackMs := include "baton.durationMs" (list "sidecar.pauseAckTimeout" "BATON_PAUSE_ACK_TIMEOUT" $s.pauseAckTimeout) | float64 -}}
{{- if lt $ackMs 100.0 -}}
{{- fail (printf "sidecar.pauseAckTimeout: BATON_PAUSE_ACK_TIMEOUT=%s would release the Lease before a confirming worker could pause: set at least 100ms" (trim (toString $s.pauseAckTimeout))) -}}
{{- end -}}
{{- $drainMs := include "baton.durationMs" (list "sidecar.drain" "BATON_DRAIN" $s.drain) | float64 -}}
{{- if lt $drainMs 100.0 -}}
{{- fail (printf "sidecar.drain: BATON_DRAIN=%s would release the Lease before the worker could pause: set at least 100ms" (trim (toString $s.drain))) -}}
{{- end -}}
{{- $graceMs := include "baton.durationMs" (list "sidecar.workerGrace" "BATON_WORKER_GRACE" $s.workerGrace) | float64 -}}
{{- if lt $graceMs 1000.0 -}}
{{- fail (printf "sidecar.workerGrace: BATON_WORKER_GRACE=%s would hand the Lease away at every blink of the worker scan: set at least 1000ms" (trim (toString $s.workerGrace))) -}}
{{- end -}}
{{- $listen := include "baton.hostPort" (list "sidecar.listen" "BATON_LISTEN" $s.listen) | fromJsonArray -}}
{{- if not (include "baton.isLoopback" (index $listen 0)) -}}
{{- fail (printf "sidecar.listen: BATON_LISTEN=%s:%v is not a loopback address: the local API changes state (POST /paused), so it serves only 127.0.0.1 or [::1]; scrape metrics on BATON_PROBE_LISTEN" (index $listen 0) (index $listen 1)) -}}
{{- end -}}
{{- if and (ne (int (index $listen 1)) 0) (eq (int (index $listen 1)) (int $s.probePort)) -}}
{{- fail (printf "sidecar.listen/probePort: BATON_LISTEN and BATON_PROBE_LISTEN both use port %v: give them different ports" (index $listen 1)) -}}
{{- end -}}
{{- if not (has (toString $s.logLevel) (list "trace" "debug" "info" "warn" "error" "fatal" "silent")) -}}
{{- fail (printf "sidecar.logLevel: BATON_LOG_LEVEL=%q is not a level: use trace, debug, info, warn, error or fatal" (toString $s.logLevel)) -}}
{{- end -}}
{{- end -}}
