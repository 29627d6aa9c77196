#!/usr/bin/env python3
"""Guide, Migration Guide, on the emwin bus -- and the migration from ByteBlaster itself.

From the ByteBlaster library, the change is the constructor:

    -from byteblaster import ByteBlasterFileManager, ByteBlasterClientOptions
    -file_manager = ByteBlasterFileManager(ByteBlasterClientOptions(email="you@example.com"))
    +from emwin_bus import BusFileManager, BusClientOptions
    +file_manager = BusFileManager(BusClientOptions(host="127.0.0.1"))

Then, as in the guide: --style before (callback only), after (async iterator), or
both at once ("allowing for gradual migration").

    python3 examples/python/migration.py [--host HOST] [--style before|after|both] [--count N] [--timeout S]
"""
import argparse
import asyncio
import sys

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


async def migrate(options, style: str, count: int) -> int:
    file_manager = BusFileManager(options)
    got_callbacks = asyncio.Event()
    seen_by_callback = set()

    async def save_file(file):
        # Save logic here
        print(f"callback {file.filename}", flush=True)
        seen_by_callback.add(file.filename)
        if count and len(seen_by_callback) >= count:
            got_callbacks.set()

    # Before (Callback Only) -- and Option 1: keep using callbacks (no changes needed)
    if style in ("before", "both"):
        file_manager.subscribe(save_file)

    await file_manager.start()
    try:
        # Option 2: Use async iterators for new code
        if style in ("after", "both"):
            async with file_manager.stream_files() as files:
                n = 0
                async for file in files:
                    print(f"iterator {file.filename}", flush=True)
                    n += 1
                    if count and n >= count:
                        break
        if style in ("before", "both"):
            if count:
                await got_callbacks.wait()
            else:
                await asyncio.Event().wait()  # callbacks run until Ctrl-C
    finally:
        await file_manager.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--style", choices=("before", "after", "both"), default="both")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(migrate(options_from_args(args), args.style, args.count), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
