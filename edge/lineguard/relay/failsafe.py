"""Every way out of the process leaves the line connected.

The relay's contacts are normally closed, so a de-energized coil is the
safe state. What could keep it energized, and what releases it:

* the main loop ends or raises: ``Gateway.run`` releases in ``finally``;
* the loop hangs: ``GuardedRelay``'s timer thread releases after
  ``relay.max_energized_ms``;
* SIGTERM / SIGHUP / SIGINT: :func:`install` releases at once in the
  handler, then hands the signal to the handler that was there before
  (the daemon's orderly stop);
* interpreter exit: :func:`install` also registers an ``atexit`` release;
* ``kill -9``, a systemd watchdog kill, a segfault: nothing in the process
  runs, and a GPIO output keeps its level after the process dies. The
  service unit runs ``lineguard relay release`` as ``ExecStopPost=``,
  which drives the pin to its inactive level (:func:`release_pin`).
"""

from __future__ import annotations

import atexit
import logging
import signal
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Protocol

from lineguard.config import RelaySettings

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Releasable(Protocol):
    def release(self) -> None: ...


def install(relay: _Releasable, signals: tuple[int, ...] = SIGNALS) -> Callable[[], None]:
    """Release ``relay`` on exit and on ``signals``; return a function that undoes this."""
    def release_now() -> None:
        try:
            relay.release()
        except Exception:   # noqa: BLE001 - last resort on the way out; logged, the next path still runs
            log.exception("failsafe: releasing the relay failed")

    previous = {sig: signal.getsignal(sig) for sig in signals}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        release_now()
        log.warning("signal %s: relay released", signum)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for sig in signals:
        signal.signal(sig, on_signal)
    atexit.register(release_now)

    def uninstall() -> None:
        atexit.unregister(release_now)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    return uninstall


def release_pin(settings: RelaySettings, gpio: ModuleType | None = None) -> str:
    """Drive the relay pin to its inactive level from a fresh process (``ExecStopPost=``)."""
    if settings.backend != "gpio":
        return "relay.backend is not gpio: nothing to release"
    from lineguard.relay.gpio import GpioRelay

    relay = GpioRelay(settings.pin, settings.active_high, gpio=gpio)
    relay.close()
    level = "low" if settings.active_high else "high"
    return f"relay on GPIO{settings.pin} released (driven {level}, then freed)"
