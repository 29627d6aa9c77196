#!/usr/bin/env python3
"""Guide, Basic Usage 2 -- Segment Stream Processing, on the emwin bus.

Prints every QBT block emwin-ingest decoded (filler FILLFILE.TXT blocks skipped), as
"Segment: NAME (BLOCK/TOTAL) ...", until --count segments or Ctrl-C.

    python3 examples/python/segment_stream.py [--host HOST | --segments-pipe tcp://H:5611] \
        [--count N] [--timeout S] [--mode pipeline|tap]

On the pipeline path this program is a consumer group of ingest: if it cannot keep
up, ingest (and the whole receiver) waits for it. Use --mode tap to watch without
ever slowing the receiver (losses are then counted and reported at the end).
"""
import argparse
import sys

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


async def process_segments(options, count: int) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    try:
        # Process raw segments using async iterator
        async with file_manager.client.stream_segments(max_queue_size=1000) as segments:
            printed = 0
            try:
                async for segment in segments:
                    if segment.filename != "FILLFILE.TXT":
                        print(f"Segment: {segment.filename} ({segment.block_number}/{segment.total_blocks}) "
                              f"V{segment.version} fd={segment.fd_text!r}", flush=True)
                        printed += 1
                        if count and printed >= count:
                            break
            finally:
                s = segments.stats
                print(f"segments printed={printed} received={s.received} gaps={s.gaps} missed={s.missed} "
                      f"overflow={s.overflow}", file=sys.stderr)
    finally:
        await file_manager.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--count", type=int, default=0, help="stop after N segments (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(process_segments(options_from_args(args), args.count), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
