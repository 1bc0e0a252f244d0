// Finding the worker in the shared process namespace and signalling it as safely as baton does: only
// a process whose command line matches, never this process or its ancestors, and only while
// /proc/PID/status SigCgt shows both signals caught (checked again just before each kill). The
// desired state is re-sent to a new process (a restarted worker): signals are edges.
package main

import (
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	stateRunning = "running"
	statePaused  = "paused"
	scanInterval = 500 * time.Millisecond
)

type proc struct {
	pid       int
	ppid      int
	startTime uint64
	cmdline   string
	ready     bool // catches both SIGUSR1 and SIGUSR2
}

type delivery struct {
	pid       int
	startTime uint64
	state     string
}

type worker struct {
	re        *regexp.Regexp
	log       *eventLog
	mu        sync.Mutex
	desired   string
	delivered *delivery
	problem   string
	stopped   bool
}

func newWorker(pattern string, log *eventLog) (*worker, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return &worker{re: re, log: log, desired: statePaused}, nil
}

// start scans now and every scanInterval until stop, delivering the desired state. It outlives the
// election's context on purpose: OnStoppedLeading comes after that ends and must still reach the worker.
func (w *worker) start() {
	go func() {
		t := time.NewTicker(scanInterval)
		defer t.Stop()
		for {
			w.mu.Lock()
			if w.stopped {
				w.mu.Unlock()
				return
			}
			w.reconcileLocked("scan")
			w.mu.Unlock()
			<-t.C
		}
	}()
}

func (w *worker) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// set changes the desired state and sends it at once when the target is ready.
func (w *worker) set(state string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.desired == state {
		return
	}
	w.desired = state
	w.reconcileLocked("change")
}

func (w *worker) reconcileLocked(reason string) {
	t, problem := w.find()
	if t == nil || !t.ready {
		if t != nil {
			problem = "process " + strconv.Itoa(t.pid) + " has not installed handlers for SIGUSR1 and SIGUSR2 yet"
		}
		if problem != w.problem {
			w.problem = problem
			w.log.log("target", map[string]any{"problem": problem})
		}
		return
	}
	w.problem = ""
	d := w.delivered
	if d != nil && d.pid == t.pid && d.startTime == t.startTime && d.state == w.desired {
		return
	}
	if d == nil || d.pid != t.pid || d.startTime != t.startTime {
		if reason == "scan" {
			reason = "new-target"
		}
	}
	// A fresh look just before the kill: the pid may have been reused since the scan.
	again, ok := readProc(t.pid)
	if !ok || again.startTime != t.startTime || !again.ready {
		return
	}
	sig := syscall.SIGUSR2
	name := "SIGUSR2"
	if w.desired == stateRunning {
		sig, name = syscall.SIGUSR1, "SIGUSR1"
	}
	if err := syscall.Kill(t.pid, sig); err != nil {
		w.log.log("signal", map[string]any{"signal": name, "target": t.pid, "state": w.desired, "reason": reason, "result": "failed", "error": err.Error()})
		return
	}
	w.delivered = &delivery{pid: t.pid, startTime: t.startTime, state: w.desired}
	w.log.log("signal", map[string]any{"signal": name, "target": t.pid, "state": w.desired, "reason": reason, "result": "sent"})
}

// find returns the matching process: those that catch both signals first, then the top-most, then the oldest.
func (w *worker) find() (*proc, string) {
	excluded := map[int]bool{}
	for pid := os.Getpid(); pid > 0 && !excluded[pid] && len(excluded) < 256; {
		excluded[pid] = true
		p, ok := readProc(pid)
		if !ok {
			break
		}
		pid = p.ppid
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, "reading /proc failed: " + err.Error()
	}
	var matched []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || excluded[pid] {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(raw) == 0 {
			continue
		}
		cmd := strings.Join(strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00"), " ")
		if !w.re.MatchString(cmd) {
			continue
		}
		p, ok := readProc(pid)
		if !ok {
			continue
		}
		p.cmdline = cmd
		matched = append(matched, p)
	}
	if len(matched) == 0 {
		return nil, "no process matches PEER_TARGET_COMMAND " + w.re.String()
	}
	var pool []proc
	for _, p := range matched {
		if p.ready {
			pool = append(pool, p)
		}
	}
	if len(pool) == 0 {
		pool = matched
	}
	inPool := map[int]bool{}
	for _, p := range pool {
		inPool[p.pid] = true
	}
	var top []proc
	for _, p := range pool {
		if !inPool[p.ppid] {
			top = append(top, p)
		}
	}
	if len(top) == 0 {
		top = pool
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].startTime != top[j].startTime {
			return top[i].startTime < top[j].startTime
		}
		return top[i].pid < top[j].pid
	})
	return &top[0], ""
}

// readProc reads /proc/PID/stat (start time, state) and /proc/PID/status (PPid, SigCgt). A zombie is not alive.
func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return proc{}, false
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return proc{}, false
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" || fields[0] == "x" {
		return proc{}, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return proc{}, false
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return proc{}, false
	}
	p := proc{pid: pid, startTime: start}
	for _, line := range strings.Split(string(status), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "PPid":
			p.ppid, _ = strconv.Atoi(value)
		case "SigCgt":
			mask, err := strconv.ParseUint(value, 16, 64)
			if err == nil {
				usr1 := uint64(1) << (uint(syscall.SIGUSR1) - 1)
				usr2 := uint64(1) << (uint(syscall.SIGUSR2) - 1)
				p.ready = mask&usr1 != 0 && mask&usr2 != 0
			}
		}
	}
	return p, true
}
