// A benchmark peer: client-go's tools/leaderelection with a LeaseLock and ReleaseOnCancel, run as
// users run it, in place of the baton sidecar. OnStartedLeading sends the start signal to the worker,
// OnStoppedLeading the pause signal; SIGTERM cancels the context (client-go then releases the Lease,
// and only after that calls OnStoppedLeading: its own order, measured as is).
//
// Env: KUBECONFIG, PEER_NAMESPACE, PEER_LEASE_NAME, PEER_IDENTITY, PEER_TARGET_COMMAND (a regexp on
// /proc/PID/cmdline joined by spaces), PEER_LOG (JSON lines), and optionally PEER_LEASE_DURATION,
// PEER_RENEW_DEADLINE, PEER_RETRY_PERIOD (Go durations; client-go's defaults 15s, 10s, 2s).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// The defaults documented in client-go (and used by kube-controller-manager and most operators).
const (
	defaultLeaseDuration = 15 * time.Second
	defaultRenewDeadline = 10 * time.Second
	defaultRetryPeriod   = 2 * time.Second
)

type eventLog struct {
	mu       sync.Mutex
	f        *os.File
	identity string
}

// nowMs is epoch milliseconds with sub-millisecond precision, comparable with Node's
// performance.timeOrigin + performance.now() in the worker's log.
func nowMs() float64 {
	return float64(time.Now().UnixNano()) / 1e6
}

func (l *eventLog) log(event string, fields map[string]any) {
	rec := map[string]any{"t": time.Now().UnixMilli(), "mono": nowMs(), "event": event, "peer": "client-go", "identity": l.identity, "pid": os.Getpid()}
	for k, v := range fields {
		rec[k] = v
	}
	line, _ := json.Marshal(rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.Write(append(line, '\n'))
	} else {
		fmt.Fprintln(os.Stderr, string(line))
	}
}

func durationEnv(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		fmt.Fprintf(os.Stderr, "peer-clientgo: %s=%q is not a positive Go duration (such as 15s)\n", name, v)
		os.Exit(2)
	}
	return d
}

func required(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "peer-clientgo: %s must be set\n", name)
		os.Exit(2)
	}
	return v
}

func main() {
	identity := required("PEER_IDENTITY")
	namespace := required("PEER_NAMESPACE")
	leaseName := required("PEER_LEASE_NAME")
	pattern := required("PEER_TARGET_COMMAND")

	elog := &eventLog{identity: identity}
	if p := os.Getenv("PEER_LOG"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "peer-clientgo: cannot open PEER_LOG: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		elog.f = f
	}

	w, err := newWorker(pattern, elog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer-clientgo: PEER_TARGET_COMMAND: %v\n", err)
		os.Exit(2)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer-clientgo: kubeconfig: %v\n", err)
		os.Exit(2)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer-clientgo: client: %v\n", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	terminating := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		elog.log("sigterm", map[string]any{"signal": s.String()})
		close(terminating)
		cancel()
	}()

	w.start()

	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: leaseName, Namespace: namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	leaseDuration := durationEnv("PEER_LEASE_DURATION", defaultLeaseDuration)
	renewDeadline := durationEnv("PEER_RENEW_DEADLINE", defaultRenewDeadline)
	retryPeriod := durationEnv("PEER_RETRY_PERIOD", defaultRetryPeriod)
	elog.log("start", map[string]any{"leaseDuration": leaseDuration.String(), "renewDeadline": renewDeadline.String(), "retryPeriod": retryPeriod.String()})

	var leading bool
	var mu sync.Mutex
	config := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		ReleaseOnCancel: true,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   renewDeadline,
		RetryPeriod:     retryPeriod,
		Name:            leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				mu.Lock()
				leading = true
				mu.Unlock()
				elog.log("acquired", nil)
				w.set(stateRunning)
			},
			// client-go calls this after renew() has returned, which (ReleaseOnCancel) has already
			// written the release: a standby may acquire before this pause goes out.
			OnStoppedLeading: func() {
				mu.Lock()
				was := leading
				leading = false
				mu.Unlock()
				// client-go calls this on every return from Run, leading or not.
				event := "stopped"
				if was {
					event = "lost"
					select {
					case <-terminating:
						event = "released"
					default:
					}
				}
				elog.log(event, map[string]any{"wasLeading": was})
				w.set(statePaused)
			},
			OnNewLeader: func(id string) {
				elog.log("new-leader", map[string]any{"holder": id})
			},
		},
	}
	for {
		leaderelection.RunOrDie(ctx, config)
		if ctx.Err() != nil {
			break
		}
		// Leadership lost without SIGTERM (renew deadline passed). client-go's example exits and the
		// kubelet restarts the container; a restart costs nothing here, so stand again at once.
		elog.log("rejoin", nil)
	}
	w.stop()
	elog.log("exit", map[string]any{"code": 0})
}
