"""Draining on SIGTERM and SIGINT while uvicorn serves (ECS scale-in, a deploy, a Lambda
environment recycled): the app's drain runs first, then the server's own handler."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def drain_on_signals(drain: Callable[[], None]) -> Iterator[None]:
    """While open, SIGTERM and SIGINT first schedule ``drain`` on the running loop, then
    run the handler the server installed (uvicorn's: stop accepting, wait for open
    connections at most ``--timeout-graceful-shutdown`` seconds, exit).

    Uvicorn runs the lifespan shutdown only once its connections have closed, which open
    streams would delay until their end, so the drain hooks the signal itself. Only
    signals that already have a Python handler are chained (so a signal's default action
    is never lost); outside the main thread, where signals cannot be caught, nothing is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    chained: dict[int, Callable[[int, FrameType | None], Any]] = {
        sig: h for sig in DRAIN_SIGNALS if callable(h := signal.getsignal(sig))
    }

    def on_signal(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has already closed
            loop.call_soon_threadsafe(drain)
        handler = chained.get(signum)
        if handler is not None:
            handler(signum, frame)

    for sig in chained:
        signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in chained.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)
