"""baton worker helper for Python: one file, standard library only (signal, asyncio, urllib).

Put a worker under baton's leadership: start on SIGUSR1, pause on SIGUSR2, one transition at a time;
after a pause has really finished (batch handled, offset confirmed) tell the sidecar with
POST /paused, so the next leader starts at once; pause by itself when the sidecar stops answering.

    import asyncio, baton_worker

    lead = baton_worker.Leadership(start=start_polling, pause=stop_polling)   # handlers installed here
    asyncio.run(lead.serve())

`start` and `pause` are async callables; `pause` must return only once the updates in hand are
handled and the offset is confirmed. The dead-man's switch follows the Lease: once it has not been
renewed for the renew deadline (both read from GET /leader), the worker pauses by itself, so a frozen or
crashed sidecar's worker is paused at least (lease duration - renew deadline) before a standby may start. Without handlers, SIGUSR1 or SIGUSR2 kills a Python process, and
baton signals nobody until /proc/PID/status shows both caught: create Leadership first thing.

F1, the fence: `lead.may_act()` is true only while the worker is started and its lease time holds (the
last renewal of this pod's own Lease seen on GET /leader plus the renew deadline). Pass it to the poller
(`UpdatePoller(..., fence=lead.may_act, may_confirm=lead.may_confirm)`): a process frozen past that
time (GC, VM pause, frozen cgroup) handles nothing more of its batch when it resumes.

`UpdatePoller` is a getUpdates loop with exact offset control that feeds any framework's per-update
entry point (python-telegram-bot `Application.process_update`, aiogram `Dispatcher.feed_update`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Awaitable, Callable, Optional, Tuple

__all__ = ["Leadership", "UpdatePoller", "BotApiError", "default_baton_url"]


def default_baton_url() -> str:
    """Where the sidecar's local API is: `BATON_URL`, else baton's default `http://127.0.0.1:4040`."""
    return os.environ.get("BATON_URL", "http://127.0.0.1:4040").rstrip("/")


# Sent with every request to the local API: this worker confirms its pauses (a sidecar that restarted
# learns it from the next poll).
CONFIRMS_HEADER = "baton-worker-confirms"


def _http_json(url: str, body: Optional[dict] = None, timeout: float = 2.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header(CONFIRMS_HEADER, "1")
    if body is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as err:  # 409 for a stale confirmation still carries JSON
        return json.loads(err.read() or b"{}")


# The watch stream (GET /leader?watch=1) carries a keep-alive comment every 15 s: a stream silent for this long is
# half-open, and is opened again.
WATCH_IDLE_S = 60.0


def _parse_time(value: Any) -> Optional[float]:
    """An RFC 3339 time of the sidecar's answers, in seconds since the epoch; None when absent or malformed."""
    if not value:
        return None
    try:
        from datetime import datetime
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Leadership:
    """A worker under baton. `is_leader` is true while it runs; `epoch` is a fencing token for writes.

    `start` and `pause` are async callables: `start` begins polling; `pause` stops it and returns only once
    the updates in hand are handled and the offset is confirmed (the sidecar releases the Lease as soon as
    the pause is confirmed). The signal handlers are installed by the constructor: create it first thing.

    Arguments: `url` the sidecar's local API (default `BATON_URL` or `http://127.0.0.1:4040`);
    `start_signal` and `pause_signal` (default SIGUSR1 and SIGUSR2); `dead_man` seconds without an answer
    after which a worker of a sidecar too old to publish the Lease's timings pauses (default 10); `check_every`
    seconds between reads of GET /leader (default 1); `log` (default: print); `wall_clock` the node's clock in
    seconds since the epoch (injectable for tests).

    Attributes: `is_leader` (true while the worker runs), `status` (the sidecar's last answer of GET /leader,
    a dict, or None), `url`, `dead_man`, `check_every`.
    """

    def __init__(
        self,
        start: Callable[[], Awaitable[None]],
        pause: Callable[[], Awaitable[None]],
        url: Optional[str] = None,
        start_signal: int = signal.SIGUSR1,
        pause_signal: int = signal.SIGUSR2,
        dead_man: float = 10.0,
        check_every: float = 1.0,
        log: Callable[[str], None] = lambda m: print(f"baton worker: {m}", flush=True),
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._start, self._pause = start, pause
        # The node's clock in seconds since the epoch, compared only with renewals this pod's sidecar wrote;
        # injectable for tests.
        self._wall = wall_clock
        # F1: from the call of `start` until `pause` returned: the worker may be acting.
        self._acting = False
        self._fence_pausing = False
        self.url = (url or default_baton_url()).rstrip("/")
        self.dead_man, self.check_every, self._log = dead_man, check_every, log
        self.is_leader = False
        self.status: Optional[dict] = None
        # F1: the newest renewal of this pod's own Lease seen (seconds since the epoch). Kept when a later answer
        # names another holder (a hand edit, a loss): that record neither ends nor extends this pod's lease time.
        self._own_renewed: Optional[float] = None
        self._wanted = "paused"
        self._signal_seq = 0
        # _signal_seq of the last start signal, and when the last answer from /leader came (same counter).
        self._start_seq = -1
        self._status_seq = -1
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        self._last_contact = time.monotonic()
        self._closed = False
        self._dead_man_handle: Optional[asyncio.TimerHandle] = None
        self._apply_lock: Optional[asyncio.Lock] = None
        self._dead_man_task: Optional[asyncio.Task] = None
        self._fence_task: Optional[asyncio.Task] = None
        # Starts waiting for this pod's fresh renewal (F1), resolved by a status pushed on the watch stream.
        self._lease_waiters: list = []
        # Handlers first, from the main thread, before any await: see the module docstring.
        signal.signal(start_signal, lambda *_: self._on_signal("running"))
        signal.signal(pause_signal, lambda *_: self._on_signal("paused"))

    @property
    def epoch(self) -> Optional[int]:
        """The Lease's epoch as last read from the sidecar (a fencing token), or None before the first answer."""
        return None if self.status is None else self.status.get("epoch")

    def may_act(self) -> bool:
        """F1, the fence: true only while the worker is started (from `start` until `pause` returned, so a
        graceful pause finishes its batch) and its leadership is provable on lease time: now is before the
        last renewal of this pod's own Lease seen on GET /leader plus the renew deadline (the dead-man's
        switch's deadline). Ask it before each poll and each update; when false, handle nothing more and
        confirm nothing past what was handled. A false answer while running also pauses the worker, as the
        switch would. Without the Lease's timings (an older sidecar) it is `is_leader`, as before F1."""
        if not self._acting:
            return False
        if self._lease_held():
            return True
        if self.is_leader and self._wanted == "running" and not self._fence_pausing and self._loop is not None:
            # Not from inside the caller's loop: the caller stops by itself on False.
            self._fence_pausing = True
            self._loop.call_soon(self._fence_failed)
        return False

    def _seen(self, status: dict) -> None:
        """Keeps an answer of GET /leader, and the newest renewal of this pod's own Lease in it (F1)."""
        self.status = status
        renewed = _parse_time(status.get("renewedAt")) if status.get("holder") == status.get("identity") else None
        if renewed is not None:
            self._own_renewed = renewed if self._own_renewed is None else max(self._own_renewed, renewed)

    def may_confirm(self) -> bool:
        """F1: once `may_act()` failed, whether the work done may still be confirmed (one short getUpdates):
        true while the worker is started and no standby can have taken the Lease yet, before the last renewal
        of this pod's Lease seen plus the lease duration. Without the Lease's timings: `is_leader`."""
        if not self._acting:
            return False
        s = self.status or {}
        timings = s.get("timings")
        if not timings:
            return True
        renewed = self._own_renewed
        return renewed is not None and self._wall() < renewed + timings["leaseDurationMs"] / 1000.0

    def _lease_held(self) -> bool:
        """F1: the lease time holds. Only a renewal of this pod's own Lease counts (holder is this pod: its own
        sidecar wrote it on the node's clock, and no other holder can take over before it + lease duration);
        an older answer only gives an earlier deadline. Another holder's renewal, or none, proves nothing; an
        answer naming another holder after this pod's own renewals (a hand edit, a loss) keeps the own lease
        time: a standby takes such a record only a lease duration after it changed."""
        s = self.status
        if s is None or not s.get("timings"):
            return True  # no lease time to check: a sidecar too old to publish timings (or not read yet)
        renewed = self._own_renewed
        return renewed is not None and self._wall() < renewed + s["timings"]["renewDeadlineMs"] / 1000.0

    def _fence_failed(self) -> None:
        self._fence_pausing = False
        if not self.is_leader or self._wanted != "running" or self._lease_held() or self._loop is None:
            return
        self._log("lease time ran out: the worker is fenced and pauses (F1, dead-man's switch)")
        self._wanted = "paused"
        self._fence_task = self._loop.create_task(self._apply())  # kept: the loop holds tasks weakly

    def _on_signal(self, state: str) -> None:
        self._signal_seq += 1
        if state == "running":
            self._start_seq = self._signal_seq
        self._wanted = state
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _leader(self, timeout: float = 2.0, arm: bool = True) -> dict:
        """Reads GET /leader (raises when there is no answer within `timeout` seconds) and keeps the answer:
        the time of contact, the status and this pod's renewal in it (F1), and the signal it is as old as.
        `arm`: re-arm the dead-man's switch on it; the switch's own read does not (it decides right after)."""
        # An answer is as old as its request: one on its way when a signal came was written before it.
        seq = self._signal_seq
        status = await asyncio.to_thread(_http_json, f"{self.url}/leader", None, timeout)
        self._contact(status, seq, arm)
        return status

    def _contact(self, status: dict, seq: int, arm: bool = True) -> None:
        """Keeps an answer of the sidecar (read, or pushed on the watch stream): the time of contact, the status and
        this pod's renewal in it (F1), and `seq`, the signal it is as old as; `arm` re-arms the dead-man's switch."""
        self._last_contact = time.monotonic()
        self._seen(status)
        self._status_seq = seq
        if arm:
            self._arm_dead_man()

    def _follow(self) -> None:
        """Runs in a daemon thread: follows GET /leader?watch=1 (Server-Sent Events) and hands each status the sidecar
        pushes to the loop as it comes. A sidecar that acquires pushes the Lease it got back before it signals, so a
        start seldom has to read /leader first (`_fresh_lease`). A stream that ends or fails (a restarted sidecar, one
        without the stream) is opened again a check later; the periodic reads go on all the same."""
        parts = urllib.parse.urlsplit(self.url)
        path = parts.path.rstrip("/") + "/leader?watch=1"
        while not self._closed and self._loop is not None and not self._loop.is_closed():
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=WATCH_IDLE_S)
            try:
                conn.request("GET", path, headers={CONFIRMS_HEADER: "1", "accept": "text/event-stream"})
                res = conn.getresponse()
                if res.status == 200 and (res.getheader("content-type") or "").startswith("text/event-stream"):
                    data: list = []
                    while not self._closed:
                        line = res.readline()
                        if not line:
                            break  # the stream ended
                        text = line.decode("utf-8").rstrip("\r\n")
                        if text.startswith("data:"):
                            data.append(text[5:].lstrip(" "))
                        elif text == "" and data:
                            status = json.loads("\n".join(data))
                            data = []
                            if self._loop is not None and not self._closed:
                                self._loop.call_soon_threadsafe(self._pushed, status)
            except Exception:
                pass  # opened again a check later
            finally:
                conn.close()
            time.sleep(self.check_every)

    def _pushed(self, status: dict) -> None:
        """A status the sidecar pushed, taken as an answer read now (it may have been written before a signal this
        worker has handled already, which only makes the switch's quick read stricter). Nothing is started or paused
        on it: signals and the periodic check do that."""
        self._contact(status, self._signal_seq)
        if self._lease_held():
            waiters, self._lease_waiters = self._lease_waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def _fresh_lease(self) -> None:
        """F1: before a start, this pod's own fresh renewal must be known: from a read of /leader, or from the watch
        stream if that is sooner (the sidecar pushes it before signalling), whichever settles first."""
        assert self._loop is not None
        pushed = self._loop.create_future()
        self._lease_waiters.append(pushed)
        read = asyncio.ensure_future(self._leader())
        try:
            await asyncio.wait({read, pushed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if pushed in self._lease_waiters:
                self._lease_waiters.remove(pushed)
        # A read that failed or is still on its way: the fence and the switch judge by the last answer.
        read.add_done_callback(lambda t: None if t.cancelled() else t.exception())

    def _lease_deadline(self) -> Optional[float]:
        """Wall-clock seconds at which the switch fires: the Lease's last renewal (written by this pod's
        sidecar with the node's clock, shared by the pod's containers) plus the renew deadline."""
        s = self.status or {}
        timings, at = s.get("timings"), _parse_time(s.get("renewedAt"))
        if not timings or at is None:
            return None
        return at + timings["renewDeadlineMs"] / 1000.0

    def _lease_fresh(self) -> bool:
        # False from where the switch may fire (one quick read before the deadline) on: the backstop and
        # the boot must not start what the switch paused until a fresher renewal.
        deadline = self._lease_deadline()
        return deadline is None or self._wall() < deadline - self._quick_read()

    def _arm_dead_man(self) -> None:
        if self._dead_man_handle is not None:
            self._dead_man_handle.cancel()
            self._dead_man_handle = None
        deadline = self._lease_deadline()
        if self._loop is None or self._closed or not self.is_leader or deadline is None:
            return
        # One quick read before the deadline, so that the read never delays the pause past it.
        due = deadline - self._quick_read()
        self._dead_man_handle = self._loop.call_later(max(0.0, due - self._wall()), self._dead_man_fired, deadline)

    def _quick_read(self) -> float:
        """Bound of the switch's last read: a quarter of (lease duration - renew deadline), 0.05 s to 1 s."""
        t = (self.status or {}).get("timings") or {}
        return max(0.05, min(1.0, (t.get("leaseDurationMs", 0) - t.get("renewDeadlineMs", 0)) / 4000.0)) if t else 0.25

    def _deadline_moved(self, deadline: float) -> bool:
        now = self._lease_deadline()
        return now is not None and now > deadline

    def _dead_man_fired(self, deadline: float) -> None:
        self._dead_man_handle = None
        if not self.is_leader or self._wanted == "paused":
            return
        if self._deadline_moved(deadline):
            self._arm_dead_man()
            return
        # At once, not when the serve loop is next free: it may be waiting on the frozen sidecar.
        if self._loop is not None:
            self._dead_man_task = self._loop.create_task(self._dead_man_due(deadline))  # kept: the loop holds tasks weakly

    async def _dead_man_due(self, deadline: float) -> None:
        """The deadline is one quick read away: the last poll may just be late (a busy node), so one read,
        bounded so that it ends by the deadline. A fresher renewal (a later deadline) re-arms the switch; no
        answer, or none fresher, pauses, at the deadline at the latest."""
        # A renewal read before the last start signal says nothing of the Lease that signal came from (the
        # sidecar signals right after writing a fresh renewal): the read then gets its whole bound.
        before_start = self._status_seq < self._start_seq
        quick = self._quick_read() if before_start else max(0.001, min(self._quick_read(), deadline - self._wall()))
        try:
            await self._leader(quick, arm=False)
        except Exception:
            pass  # no answer: the sidecar is frozen or gone
        if not self.is_leader or self._wanted == "paused":
            return
        if self._deadline_moved(deadline):
            self._arm_dead_man()
            return
        self._log("the Lease has not been renewed for the renew deadline: pausing (dead-man's switch)")
        self._wanted = "paused"
        await self._apply()

    async def _read_pause_id(self) -> Optional[Tuple[int, int]]:
        """Reads the pause id as the pause begins: (id, the signal it is as old as), or None without an answer.
        The sidecar numbers a pause before it sends its signal, so an answer to a request sent after the signal
        names that pause or a newer one."""
        asked = self._signal_seq
        try:
            status = await self._leader()
            return int(status["pause"]["id"]), asked
        except Exception:
            return None  # _confirm reads it again

    async def _confirm(self, read: Optional[Tuple[int, int]] = None) -> None:
        """Tells the sidecar the latest pause is done (POST /paused). `read`: the pause id read as this pause
        began; it names the newest pause unless a signal came since it was asked, and then (or without it) the
        id is read again now, after pausing."""
        try:
            pause_id = read[0] if read is not None and read[1] == self._signal_seq else None
            if pause_id is None:
                status = await self._leader()
                pause_id = status["pause"]["id"]
            result = await asyncio.to_thread(_http_json, f"{self.url}/paused", {"pause": pause_id})
            self._log(f"confirmed pause {pause_id}: {result.get('result')}")
        except Exception as err:  # the sidecar then waits its drain: slower, never unsafe
            self._log(f"could not confirm the pause: {err}")

    async def _apply(self) -> None:
        # One transition at a time, whoever asks (the serve loop, the dead-man's switch); each caller
        # re-checks the wish, so a second one finds nothing left to do.
        if self._apply_lock is None:
            self._apply_lock = asyncio.Lock()
        async with self._apply_lock:
            await self._apply_locked()

    async def _apply_locked(self) -> None:
        while self._wanted != ("running" if self.is_leader else "paused"):
            if self._wanted == "running":
                # F1: a start signal comes right after the sidecar wrote a fresh renewal, but the last answer may
                # carry an older one or another holder's (a standby's): know the one the signal came from first
                # (pushed on the watch stream, or one read), so the first poll is not fenced.
                if not self._lease_held():
                    await self._fresh_lease()
                    if self._wanted != "running":
                        continue
                self._acting = True
                try:
                    await self._start()
                except BaseException:
                    self._acting = False
                    raise
                self.is_leader = True
                self._arm_dead_man()
            else:
                # The pause id is read while the batch is finished, so that the confirmation is one request once
                # paused (a GET, then the POST, was a loopback round trip more in every handoff's gap).
                read = asyncio.ensure_future(self._read_pause_id())
                try:
                    await self._pause()
                except BaseException:
                    read.cancel()
                    raise
                self.is_leader = False
                self._acting = False
                if self._wanted == "paused":
                    await self._confirm(await read)
                else:
                    read.cancel()

    async def serve(self) -> None:
        """Reads the starting state, then applies signals until `close()`; also the dead-man's switch."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        seq = self._signal_seq
        while not self._closed:
            try:
                status = await self._leader()
                if self._signal_seq == seq:  # a signal newer than the answer wins
                    self._wanted = "running" if status.get("isLeader") and self._lease_fresh() else "paused"
                break
            except Exception:
                await asyncio.sleep(0.2)
        # Followed once the sidecar has answered: a stream refused before it listens would wait a check.
        threading.Thread(target=self._follow, name="baton-watch", daemon=True).start()
        await self._apply()
        if not self.is_leader:
            await self._confirm()  # starting paused is a pause too: it tells baton we confirm
        next_check = time.monotonic() + self.check_every
        while not self._closed:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_check - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            await self._apply()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.check_every
                await self._check()

    async def _check(self) -> None:
        seq = self._signal_seq
        try:
            status = await self._leader()
            # A backstop for a lost or reordered signal (pending signals arrive lowest number first);
            # applied only when no signal came while we asked. Never a start on a Lease gone stale.
            should_run = bool(status.get("isLeader")) and self._lease_fresh()
            if seq == self._signal_seq and self.is_leader != should_run:
                self._wanted = "running" if should_run else "paused"
                await self._apply()
        except Exception:
            # Only for a sidecar too old to publish the Lease's timings: time since its last answer.
            no_timings = self._lease_deadline() is None
            if no_timings and self.is_leader and time.monotonic() - self._last_contact > self.dead_man:
                self._log(f"the sidecar at {self.url} has not answered for over {self.dead_man} s: pausing (dead-man's switch)")
                self._wanted = "paused"
                await self._apply()

    async def close(self) -> None:
        """Pauses the worker (if running) and confirms the pause, then ends `serve()`."""
        self._closed = True
        if self._dead_man_handle is not None:
            self._dead_man_handle.cancel()
        self._wanted = "paused"
        await self._apply()
        if self._wake is not None:
            self._wake.set()


class BotApiError(Exception):
    """An error answer of the Bot API; `code` is its `error_code` (409 Conflict, 429, ...)."""

    def __init__(self, code: int, description: str) -> None:
        """`code`: the Bot API's `error_code`; `description`: its `description`."""
        super().__init__(f"Bot API {code}: {description}")
        self.code = code


class UpdatePoller:
    """getUpdates with exact offset control. `stop()` stops fetching, lets the batch in hand finish,
    makes sure the offset is confirmed without ever waiting on Telegram's same-offset rule, then returns.

    `allowed_updates`: the update types to receive (omitted: keep the bot's current setting).

    F1: `fence` (`Leadership.may_act`) is checked before each getUpdates and before each update; when it fails
    the loop ends at once: the rest of the batch is not handled, the offset stays at the last update handled,
    and what was handled is confirmed (one short poll, which evicts nobody) only if `may_confirm`
    (`Leadership.may_confirm`: no standby can have taken over yet) — otherwise no getUpdates at all. It is
    reported once: `on_fenced({"at", "unhandled", "offset"})`, default one JSON line to `log`.

    Attributes: `offset` (the next offset: every update below it has been handled), `conflicts` (409s seen:
    each means another poller ran at the same time)."""

    def __init__(self, token: str, handle: Callable[[dict], Awaitable[None]], api_root: str = "https://api.telegram.org",
                 limit: int = 100, timeout: int = 30, log: Callable[[str], None] = lambda m: print(m, flush=True),
                 allowed_updates: Optional[list] = None, fence: Optional[Callable[[], bool]] = None,
                 may_confirm: Optional[Callable[[], bool]] = None,
                 on_fenced: Optional[Callable[[dict], None]] = None) -> None:
        """`token` the bot's token; `handle` an async callable awaited for each update, in order (a raise is
        logged and the update skipped); `api_root` (default https://api.telegram.org); `limit` 1-100; `timeout`
        the long poll's seconds; `log` (default: print); `allowed_updates`; `fence`, `may_confirm`, `on_fenced`:
        F1, see the class. Nothing is fetched before `start()`."""
        self.base = f"{api_root.rstrip('/')}/bot{token}"
        self.handle, self.limit, self.timeout, self._log = handle, limit, timeout, log
        self.allowed_updates = allowed_updates
        self.fence, self.may_confirm, self.on_fenced = fence, may_confirm, on_fenced
        # F1: the fence failed since the last start; no getUpdates is sent until the next start.
        self._fenced = False
        self.offset: Optional[int] = None
        # The offset the last getUpdates carried, and whether the server answered it (so it arrived).
        self._carried: Optional[int] = None
        self._carried_answered = False
        self._sent_any = False
        self._stop_event: asyncio.Event = asyncio.Event()
        self.conflicts = 0
        self._task: Optional[asyncio.Task] = None
        self._stopping = False
        self._conn_lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None

    def _call(self, method: str, params: dict, timeout: float) -> Any:
        # http.client rather than urllib: the connection object exists before the request is sent,
        # so stop() can cut a poll that is parked waiting for its answer.
        url = urllib.parse.urlsplit(f"{self.base}/{method}")
        cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = cls(url.hostname, url.port, timeout=timeout)
        with self._conn_lock:
            if self._stopping and method == "getUpdates" and params.get("timeout", 0) > 0:
                raise BotApiError(0, "stopping")
            self._conn = conn
        try:
            conn.request("POST", url.path, body=json.dumps(params), headers={"content-type": "application/json"})
            # A stop that came while this long poll was still connecting found no socket to cut: cut it
            # now that it is sent (it arrived, so its offset is confirmed; stop() knows it was not answered).
            with self._conn_lock:
                cut = self._stopping and method == "getUpdates" and params.get("timeout", 0) > 0
            if cut and conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            res = conn.getresponse()
            body = json.loads(res.read() or b"{}")
        finally:
            with self._conn_lock:
                self._conn = None
            conn.close()
        if not body.get("ok"):
            raise BotApiError(body.get("error_code", res.status), body.get("description", "error"))
        return body["result"]

    def _abort(self) -> None:
        # Cut a parked long poll: the server keeps it parked until evicted, which is harmless,
        # since the offset is confirmed by the next call and not by this one.
        with self._conn_lock:
            conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _fence_holds(self, at: str, unhandled: int) -> bool:
        """F1: checks the fence; on failure ends the loop's work until the next start and reports once."""
        if self._fenced:
            return False
        if self.fence is None or self.fence():
            return True
        self._fenced = True
        info = {"at": at, "unhandled": unhandled, "offset": self.offset}
        if self.on_fenced is not None:
            self.on_fenced(info)
        else:
            self._log(json.dumps({"event": "fenced", "rule": "F1", **info}))
        return False

    async def _confirm_fenced(self) -> None:
        """F1: after the fence failed, confirm what was handled only while no standby can have taken over."""
        if self.may_confirm is None or not self.may_confirm():
            return
        try:
            await asyncio.to_thread(self._confirm_offset)
        except Exception as err:
            self._log(f"could not confirm offset {self.offset}: {err}")

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            # F1: never a getUpdates without provable leadership (it would also evict the next leader's poll).
            if not self._fence_holds("poll", 0):
                await self._confirm_fenced()
                return
            params: dict = {"limit": self.limit, "timeout": self.timeout}
            if self.offset is not None:
                params["offset"] = self.offset
            if self.allowed_updates is not None:
                params["allowed_updates"] = self.allowed_updates
            self._carried, self._carried_answered, self._sent_any = self.offset, False, True
            try:
                updates = await asyncio.to_thread(self._call, "getUpdates", params, self.timeout + 10)
                self._carried_answered = True
                backoff = 0.5
            except Exception as err:
                if isinstance(err, BotApiError) and err.code != 0:
                    self._carried_answered = True  # an error answer is an answer: the request arrived
                if self._stopping:
                    break
                if isinstance(err, BotApiError) and err.code == 409:
                    self.conflicts += 1
                self._log(f"getUpdates failed: {err}")
                try:  # a back-off that a stop cuts short
                    await asyncio.wait_for(self._stop_event.wait(), timeout=backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, 10.0)
                continue
            # The batch in hand is handled even if a stop came meanwhile, but only while the fence holds (F1).
            for i, update in enumerate(updates):
                if not self._fence_holds("update", len(updates) - i):
                    await self._confirm_fenced()
                    return
                try:
                    await self.handle(update)
                except Exception as err:
                    self._log(f"handler failed on update {update.get('update_id')}: {err}")
                self.offset = update["update_id"] + 1

    def start(self) -> None:
        """Starts fetching in a task of the running event loop (no-op when running)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._fenced = False
            self._stop_event = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stops fetching (a parked long poll is cut), waits for the batch in hand to be handled, then makes
        sure the offset is confirmed (see `_confirm_offset`); returns when all of that is done. F1: once the
        fence has failed, what was handled is confirmed only if `may_confirm()` allows it."""
        if self._task is None:
            return
        with self._conn_lock:
            self._stopping = True
        self._stop_event.set()
        self._abort()
        await self._task
        self._task = None
        if self._fenced:
            return  # F1: the loop settled it when the fence failed
        if not self._fence_holds("confirm", 0):
            await self._confirm_fenced()
            return
        try:
            await asyncio.to_thread(self._confirm_offset)
        except Exception as err:
            self._log(f"could not confirm offset {self.offset}: {err}")

    def _confirm_offset(self) -> None:
        """Telegram confirms an offset when a request carrying it arrives, and forces a 3 s timeout on a
        request repeating the previous one's offset within 3 s (even timeout 0). So: nothing to do when
        the last request carried the offset and was answered; when it carried it but was cut before its
        answer (an idle bot), a short poll at offset - 1 (not a repeat: it cannot park) shows whether it
        arrived, and only if not is the offset confirmed; when updates were handled after the last
        request was sent (a busy bot), the offset is new to the server and a short poll confirms it."""
        offset = self.offset
        if offset is None:
            return
        if self._sent_any and self._carried == offset:
            if self._carried_answered:
                return
            probe = self._call("getUpdates", {"offset": offset - 1, "limit": 1, "timeout": 0}, 10)
            if not any(u["update_id"] < offset for u in probe):
                return
        self._call("getUpdates", {"offset": offset, "limit": 1, "timeout": 0}, 10)
        self._carried, self._carried_answered = offset, True
