"""The asyncio side of native calls: an asyncio future the Rust side resolves when done."""

from __future__ import annotations

import asyncio
import atexit
from typing import Any, Callable

from . import _aihub


def resolve(future: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    """Runs on the event loop: completes ``future`` unless it was cancelled meanwhile."""
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def run(start: Callable[[asyncio.AbstractEventLoop, "asyncio.Future[Any]"], _aihub.Pending]) -> Any:
    """Starts a native call and awaits it; cancelling the await aborts the call."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    pending = start(loop, future)
    try:
        return await future
    except asyncio.CancelledError:
        pending.cancel()
        raise


atexit.register(_aihub.shutdown)
