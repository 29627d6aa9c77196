#!/usr/bin/env python3
"""Guide, Advanced Patterns 5 -- Priority Processing, on the emwin bus.

A classifier task routes each file to a high- or low-priority queue; two processors
drain them concurrently. Where the guide looks for "ALERT"/"WARNING" in the name,
EMWIN names start with the product code: warnings and their statements (TOR, SVR,
FFW, SMW, EWW, SQW, SVS, FFS -- the products a ByteBlaster server sends first) are
high priority. (stream_alerts() offers the classifier's tier instead.)
A file is acknowledged to the bus only once a processor has handled it
(auto_ack=False), so files waiting in the priority queues are never lost.

    python3 examples/python/priority_processing.py [--host HOST] [--count N] [--low-delay S] [--timeout S]

--count N: stop once N files were classified and both queues are drained.
"""
import argparse
import asyncio
import sys

from emwin_bus import BusFileManager, add_arguments, options_from_args, run

HIGH_PRIORITY_PRODUCTS = ("TOR", "SVR", "FFW", "SMW", "EWW", "SQW", "SVS", "FFS")


async def priority_processing(options, count: int, low_delay: float) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    try:
        # Separate high and low priority queues
        high_priority_queue = asyncio.Queue(maxsize=50)
        low_priority_queue = asyncio.Queue(maxsize=200)

        async with asyncio.TaskGroup() as tg:
            # Priority processors
            high = tg.create_task(process_high_priority(high_priority_queue))
            low = tg.create_task(process_low_priority(low_priority_queue, low_delay))
            # Classifier (here, not in a task of its own: when it is done, the rest is drained)
            await classify_files(file_manager, high_priority_queue, low_priority_queue, count)
            high.cancel()
            low.cancel()
    finally:
        await file_manager.stop()
    return 0


async def classify_files(file_manager, high_queue, low_queue, count: int) -> None:
    classified = 0
    async with file_manager.stream_files(auto_ack=False) as files:
        async for file in files:
            if file.filename.upper().startswith(HIGH_PRIORITY_PRODUCTS):
                await high_queue.put((file, files.ack))
            else:
                await low_queue.put((file, files.ack))  # a full queue makes this wait: backpressure reaches the bus
            classified += 1
            if count and classified >= count:
                break
        # Still inside the stream: what is queued gets processed and acknowledged.
        await high_queue.join()
        await low_queue.join()


async def process_high_priority(queue) -> None:
    while True:
        file, ack = await queue.get()
        try:
            print(f"HIGH {file.filename}", flush=True)
            await urgent_file_processing(file)
            ack(file)
        finally:
            queue.task_done()


async def process_low_priority(queue, delay: float) -> None:
    while True:
        file, ack = await queue.get()
        try:
            print(f"low {file.filename}", flush=True)
            await standard_file_processing(file, delay)
            ack(file)
        finally:
            queue.task_done()


async def urgent_file_processing(file) -> None:
    await asyncio.sleep(0)


async def standard_file_processing(file, delay: float) -> None:
    await asyncio.sleep(delay)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--low-delay", type=float, default=0.01, help="seconds per low-priority file")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(priority_processing(options_from_args(args), args.count, args.low_delay), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
