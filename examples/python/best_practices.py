#!/usr/bin/env python3
"""Guide, Best Practices 1-4, on the emwin bus, in one program.

1. Queue sizes: segments with a large queue (1000, high throughput), files with a
   small one (10, bounded memory).
2. Cancellation: Ctrl-C cancels everything; CancelledError is logged and re-raised.
3. Structured concurrency: files, segments and a stats monitor in one TaskGroup.
4. Error isolation: each file is saved and validated in a TaskGroup of its own; if
   validation fails, the save is cancelled, the failure is reported, and the stream
   goes on with the next file.

    python3 examples/python/best_practices.py [--host HOST] [--out DIR] [--fail REGEX] [--count N] [--timeout S]

--count N: stop after N files (the segment analyzer and monitor stop with them).
"""
import argparse
import asyncio
import logging
import re
import sys
from pathlib import Path

from emwin_bus import BusFileManager, add_arguments, options_from_args, run

logger = logging.getLogger("best_practices")


class ValidationError(Exception):
    pass


class App:
    def __init__(self, out: Path, fail: str | None):
        self.out = out
        self.fail = re.compile(fail) if fail else None
        self.segments = 0

    async def process_files(self, file_manager, count: int) -> None:
        done = 0
        try:
            # 1. memory-constrained: a small queue
            async with file_manager.stream_files(max_queue_size=10) as files:
                async for file in files:
                    # 4. each file processed in isolation
                    try:
                        async with asyncio.TaskGroup() as tg:
                            tg.create_task(self.save_file(file))
                            tg.create_task(self.validate_file(file))
                            # If one fails, others in this group are cancelled
                    except* ValidationError as group:
                        for e in group.exceptions:
                            print(f"isolated failure {file.filename}: {e}", flush=True)
                    done += 1
                    if count and done >= count:
                        break
        except asyncio.CancelledError:  # 2. graceful cancellation
            logger.info("Processing cancelled gracefully after %d files", done)
            raise

    async def save_file(self, file) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        await asyncio.sleep(0.01)  # let a failing validation cancel us first
        await asyncio.to_thread((self.out / Path(file.filename).name).write_bytes, file.data)
        print(f"saved {file.filename}", flush=True)

    async def validate_file(self, file) -> None:
        if self.fail and self.fail.search(file.filename):
            raise ValidationError("rejected by --fail")
        if len(file.data) != file.size_bytes:
            raise ValidationError(f"size {len(file.data)} != {file.size_bytes}")
        print(f"validated {file.filename}", flush=True)

    async def analyze_segments(self, client) -> None:
        # 1. high throughput: a large queue
        async with client.stream_segments(max_queue_size=1000) as segments:
            async for segment in segments:
                self.segments += 1

    async def monitor_stats(self, file_manager) -> None:
        async with file_manager.stream_stats() as stats:
            async for s in stats:
                print(f"monitor {s.service}.{s.instance} published={s.counters.get('bus_published', 0)} "
                      f"segments_seen_here={self.segments}", flush=True)


async def main_async(options, app: App, count: int) -> int:
    file_manager = BusFileManager(options)
    await file_manager.start()
    try:
        # 3. structured concurrency
        async with asyncio.TaskGroup() as tg:
            files = tg.create_task(app.process_files(file_manager, count))
            segments = tg.create_task(app.analyze_segments(file_manager.client))
            monitor = tg.create_task(app.monitor_stats(file_manager))
            await files
            segments.cancel()
            monitor.cancel()
        print(f"segments analyzed={app.segments}", flush=True)
    finally:
        await file_manager.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--out", default="weather_data", help="where files are saved (default %(default)s)")
    ap.add_argument("--fail", help="regex: file names whose validation fails")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(main_async(options_from_args(args), App(Path(args.out), args.fail), args.count),
               timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
