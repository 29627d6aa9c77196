#!/usr/bin/env python3
"""Guide, Comparison -- Callbacks vs Async Iterators, on the emwin bus, side by side.

Three handlers subscribed with subscribe() (save, validate, process: sync or async)
and an async-iterator loop, in one program. Every handler and the loop see every
file. A handler that raises (here validate, for names matching --fail) is logged and
counted; the other handlers, and the stream feeding them, go on. On the bus the
callbacks have backpressure too: a file is acknowledged once every handler returned.

    python3 examples/python/callbacks_vs_iterators.py [--host HOST] [--out DIR] [--fail REGEX]
        [--count N] [--timeout S]
"""
import argparse
import asyncio
import re
import sys
from pathlib import Path

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


class Handlers:
    def __init__(self, out: Path, fail: str | None):
        self.out = out
        self.fail = re.compile(fail) if fail else None
        self.seen: dict[str, set[str]] = {"save": set(), "validate": set(), "process": set()}
        self.changed = asyncio.Event()

    def _done(self, kind: str, file) -> None:
        self.seen[kind].add(file.filename)
        self.changed.set()

    async def save_file_callback(self, file) -> None:           # async handler
        self.out.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread((self.out / Path(file.filename).name).write_bytes, file.data)
        print(f"callback save {file.filename}", flush=True)
        self._done("save", file)

    def validate_file_callback(self, file) -> None:             # sync handler
        self._done("validate", file)                            # (counted as handled even when it raises)
        if self.fail and self.fail.search(file.filename):
            raise ValueError(f"{file.filename} failed validation")
        print(f"callback validate {file.filename}", flush=True)

    async def process_file_callback(self, file) -> None:
        print(f"callback process {file.filename} {file.sha256[:12]}", flush=True)
        self._done("process", file)


async def compare(options, handlers: Handlers, count: int) -> int:
    file_manager = BusFileManager(options)

    # Callback Pattern (Traditional): simple and familiar
    file_manager.subscribe(handlers.save_file_callback)
    file_manager.subscribe(handlers.validate_file_callback)
    file_manager.subscribe(handlers.process_file_callback)

    await file_manager.start()
    try:
        # Async Iterator Pattern (Modern): structured and composable
        async with file_manager.stream_files() as files:
            n = 0
            async for file in files:
                print(f"iterator {file.filename}", flush=True)
                n += 1
                if count and n >= count:
                    break
        # Handlers are called automatically; wait until they have seen as many files.
        while count and min(len(s) for s in handlers.seen.values()) < count:
            handlers.changed.clear()
            await handlers.changed.wait()
        print(f"handler_calls={file_manager.handler_calls} handler_errors={file_manager.handler_errors}",
              flush=True)
    finally:
        await file_manager.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--out", default="weather_data", help="where the save handler writes (default %(default)s)")
    ap.add_argument("--fail", help="regex: the validate handler raises for matching file names")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(compare(options_from_args(args), Handlers(Path(args.out), args.fail), args.count),
               timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
