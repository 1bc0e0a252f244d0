"""The Python twin of e2e/bots/bot.py's Node sample bot, on python/baton_worker.py: long-polls the
Telegram double with baton_worker.UpdatePoller, handles each update in BOT_HANDLER_MS and logs the same
JSON lines (boot, polling-start, polling-stop, handled, ack, signal) to BOT_LOG.

Env: TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT, BOT_NAME, BOT_LOG, BOT_HANDLER_MS (20), BOT_LIMIT (100),
BOT_TIMEOUT_S (30), BATON_URL."""
import asyncio
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import baton_worker  # noqa: E402

env = os.environ
NAME = env.get("BOT_NAME", f"bot-{os.getpid()}")
LOG = env.get("BOT_LOG")
HANDLER_S = int(env.get("BOT_HANDLER_MS", "20")) / 1000


def log(event: str, **fields) -> None:
    if LOG:
        line = json.dumps({"t": int(time.time() * 1000), "mono": time.time() * 1000, "pid": os.getpid(), "name": NAME, "event": event, **fields})
        with open(LOG, "a") as f:
            f.write(line + "\n")


async def handle(update: dict) -> None:
    await asyncio.sleep(HANDLER_S)  # a handler that takes time: the batch in hand matters
    log("handled", update=update["update_id"])


poller = baton_worker.UpdatePoller(
    env.get("TELEGRAM_BOT_TOKEN", "123:abc"), handle, api_root=env.get("TELEGRAM_API_ROOT", "http://127.0.0.1:8081"),
    limit=int(env.get("BOT_LIMIT", "100")), timeout=int(env.get("BOT_TIMEOUT_S", "30")),
    log=lambda m: log("error", message=m))


async def start() -> None:
    poller.start()
    log("polling-start")


async def pause() -> None:
    await poller.stop()
    log("polling-stop", conflicts=poller.conflicts)


class Logged(baton_worker.Leadership):
    def _on_signal(self, state: str) -> None:
        log("signal", signal="SIGUSR1" if state == "running" else "SIGUSR2")
        super()._on_signal(state)


def kit_log(message: str) -> None:
    log("ack" if message.startswith("confirmed pause") else "kit", message=message)


lead = Logged(start=start, pause=pause, log=kit_log)  # handlers first, in the main thread
# F1: fenced on lease time; a fence that fails is logged with its fields (at, unhandled, offset).
poller.fence, poller.may_confirm = lead.may_act, lead.may_confirm
poller.on_fenced = lambda info: log("fenced", **info)
log("boot", framework="python", sidecar=bool(env.get("BATON_URL")))


def on_term(*_):
    if lead.is_leader:
        log("polling-stop", conflicts=poller.conflicts, exit=True)
    log("exit")
    os._exit(0)


signal.signal(signal.SIGTERM, on_term)
asyncio.run(lead.serve())
