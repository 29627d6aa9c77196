"""run(): asyncio.run for programs built on emwin_bus, with clean signal handling.

SIGINT and SIGTERM cancel the main task, so `async with` blocks close their streams
(BYE on the pipeline) and `finally:` clauses run; the program then exits normally.
"""
from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, Coroutine, Optional


def run(main: Coroutine[Any, Any, Any], *, timeout: Optional[float] = None) -> int:
    """Runs `main` to completion and returns an exit status: its int result (None -> 0),
    0 after SIGINT/SIGTERM (a clean, requested stop), 1 if `timeout` seconds passed."""

    async def wrapper() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        stopped = []

        def on_signal(signum: int) -> None:
            stopped.append(signum)
            task.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            if timeout and timeout > 0:
                async with asyncio.timeout(timeout):
                    return await main
            return await main
        except asyncio.CancelledError:
            if stopped:
                print(f"stopped by signal {signal.Signals(stopped[0]).name}", file=sys.stderr)
                return 0
            raise
        except TimeoutError:
            print(f"timed out after {timeout:g} s", file=sys.stderr)
            return 1
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    result = asyncio.run(wrapper())
    return 0 if result is None else int(result)
