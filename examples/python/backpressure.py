#!/usr/bin/env python3
"""Guide, Advanced Patterns 3 -- Backpressure Handling, on the emwin bus: both honest choices.

A deliberately slow consumer with a small queue (--max-queue-size, --delay per file):
  --mode pipeline  this program is its own consumer group: when its queue is full it
                   stops acknowledging, the assembler queues for it and, once that
                   queue reaches its --hwm, stops taking segments (its
                   `backpressure_paused_ms` grows); then ingest's queue fills and it
                   stops reading its server (ingest's `backpressure_paused_ms`).
                   Nothing is lost.
  --mode tap       nothing ever waits for this program: when its queue is full, new
                   files are dropped and counted (overflow), losses upstream show as
                   gaps in the sequence numbers (missed). The producer is never held.
The producers' view comes from their own statistics on their taps (stream_stats).

    python3 examples/python/backpressure.py [--host HOST] [--mode pipeline|tap] [--max-queue-size 10]
        [--delay 1.0] [--count N] [--timeout S]

--count N: stop after N files were delivered (pipeline) or accounted for (tap:
delivered, dropped or missed).
"""
import argparse
import asyncio
import sys

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


class ProducerWatch:
    """What the producers report about themselves (their ServiceStats on their taps)."""

    def __init__(self):
        self.assembler_queue_max = 0  # deepest consumer-group queue seen at the assembler
        self.assembler_paused_ms = 0  # time the assembler took no segments because a group's queue was full
        self.assembler_published = 0
        self.ingest_paused_ms = 0     # time ingest stopped reading its server because the pipeline was full
        self.reports = 0
        self.report = asyncio.Event()

    async def run(self, file_manager) -> None:
        o = file_manager.options
        async with file_manager.stream_stats(endpoints=[o.files_tap, o.segments_tap],
                                             topics=("stats.assembler.", "stats.ingest.")) as stats:
            async for s in stats:
                if s.service == "assembler":
                    depth = int(s.gauges.get("queue_depth", 0))
                    self.assembler_queue_max = max(self.assembler_queue_max, depth)
                    self.assembler_paused_ms = s.counters.get("backpressure_paused_ms", 0)
                    self.assembler_published = s.counters.get("bus_published", 0)
                    print(f"producer assembler.{s.instance} published={self.assembler_published} "
                          f"queue_depth={depth} paused_ms={self.assembler_paused_ms}", file=sys.stderr, flush=True)
                elif s.service == "ingest":
                    self.ingest_paused_ms = s.counters.get("backpressure_paused_ms", 0)
                    print(f"producer ingest.{s.instance} paused_ms={self.ingest_paused_ms} "
                          f"pauses={s.counters.get('backpressure_pauses', 0)}", file=sys.stderr, flush=True)
                self.reports += 1
                self.report.set()

    async def next_report(self, timeout: float) -> None:
        self.report.clear()
        try:
            async with asyncio.timeout(timeout):
                await self.report.wait()
        except TimeoutError:
            pass


async def backpressure_example(options, max_queue_size: int, delay: float, count: int) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    watch = ProducerWatch()
    try:
        async with asyncio.TaskGroup() as tg:
            watcher = tg.create_task(watch.run(file_manager))
            # Small queue for natural backpressure
            async with file_manager.stream_files(max_queue_size=max_queue_size) as files:
                processed = 0
                while True:
                    if count and (processed >= count or (files.mode == "tap" and files.stats.span >= count
                                                         and files.queued() == 0)):
                        break
                    try:
                        # (re-check the count now and then: on the tap the rest may have been dropped)
                        async with asyncio.timeout(0.5):
                            file = await anext(files)
                    except TimeoutError:
                        continue
                    except StopAsyncIteration:
                        break
                    # Slow processing will naturally limit throughput
                    await slow_file_processing(file, delay)
                    processed += 1
                s = files.stats
                print(f"consumer mode={files.mode} processed={processed} received={s.received} "
                      f"overflow={s.overflow} gaps={s.gaps} missed={s.missed} span={s.span} "
                      f"duplicates={s.duplicates} held_s={s.held_s:.2f}", flush=True)
            # Fresh producer reports after we stopped, then stop watching.
            for _ in range(2):
                await watch.next_report(5)
            watcher.cancel()
        print(f"producer assembler_paused_ms={watch.assembler_paused_ms} ingest_paused_ms={watch.ingest_paused_ms} "
              f"assembler_queue_max={watch.assembler_queue_max} assembler_published={watch.assembler_published}",
              flush=True)
    finally:
        await file_manager.stop()
    return 0


async def slow_file_processing(file, delay: float) -> None:
    """Simulate time-consuming file processing."""
    print(f"Processing {file.filename}...", flush=True)
    await asyncio.sleep(delay)  # Simulate heavy processing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--max-queue-size", type=int, default=10, help="files buffered (default %(default)s)")
    ap.add_argument("--delay", type=float, default=1.0, help="seconds of 'work' per file (default %(default)s)")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(backpressure_example(options_from_args(args), args.max_queue_size, args.delay, args.count),
               timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
