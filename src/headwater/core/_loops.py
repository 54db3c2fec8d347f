"""Whether an event loop runs in this thread: what decides if calling an async flow or task
hands back a coroutine."""

from __future__ import annotations

import sys


def in_running_loop() -> bool:
    """Whether an event loop is running in this thread.

    If asyncio was never imported, no loop can be running: checking `sys.modules` first keeps
    asyncio (20 ms) out of the import of sync-only programs.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
