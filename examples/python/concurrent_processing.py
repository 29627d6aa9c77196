#!/usr/bin/env python3
"""Guide, Advanced Patterns 1 -- Concurrent Processing with TaskGroup, on the emwin bus.

Three processors run at once, each with its own stream: text files, image files
(both see every file: each stream is its own consumer group) and a segment analyzer
that counts blocks by QBT protocol version (V2 blocks are zlib-compressed; the bus
delivers them all).

    python3 examples/python/concurrent_processing.py [--host HOST] [--files N] [--segments N] [--timeout S]

--files N: the file processors stop after N files each; --segments N: the analyzer
after N blocks (0 = run until Ctrl-C).
"""
import argparse
import asyncio
import collections
import sys

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


async def concurrent_processing(options, files: int, segments: int) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    try:
        # Run multiple processors concurrently
        async with asyncio.TaskGroup() as tg:
            tg.create_task(process_text_files(file_manager, files))
            tg.create_task(process_image_files(file_manager, files))
            tg.create_task(analyze_segments(file_manager.client, segments))
    finally:
        await file_manager.stop()
    return 0


async def process_text_files(file_manager, limit: int) -> None:
    seen = 0
    async with file_manager.stream_files() as files:
        async for file in files:
            seen += 1
            # (Names on the feed are upper case: compare case-insensitively.)
            if file.filename.lower().endswith(".txt"):
                await process_text_content(file)
            if limit and seen >= limit:
                break


async def process_image_files(file_manager, limit: int) -> None:
    seen = 0
    async with file_manager.stream_files() as files:
        async for file in files:
            seen += 1
            if file.filename.lower().endswith((".png", ".jpg", ".gif")):
                await process_image_content(file)
            if limit and seen >= limit:
                break


async def analyze_segments(client, limit: int) -> None:
    by_version = collections.Counter()
    try:
        async with client.stream_segments(max_queue_size=1000) as segments:
            async for segment in segments:
                if segment.filename == "FILLFILE.TXT":
                    continue
                by_version[f"V{segment.version}"] += 1
                if limit and sum(by_version.values()) >= limit:
                    break
    finally:
        print(f"segments total={sum(by_version.values())} " +
              " ".join(f"{k}={v}" for k, v in sorted(by_version.items())), flush=True)


async def process_text_content(file) -> None:
    text = file.data.decode("latin-1")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    print(f"text {file.filename} lines={text.count(chr(10)) + 1} first={first[:30]!r}", flush=True)


async def process_image_content(file) -> None:
    kind = "gif" if file.data[:6] in (b"GIF87a", b"GIF89a") else "png" if file.data[:8] == b"\x89PNG\r\n\x1a\n" \
        else "jpeg" if file.data[:3] == b"\xff\xd8\xff" else "unknown"
    origin = f" from {file.archive.archive_name}" if file.archive.archive_name else ""
    print(f"image {file.filename} bytes={len(file.data)} format={kind}{origin}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--files", type=int, default=0, help="each file processor stops after N files (0 = never)")
    ap.add_argument("--segments", type=int, default=0, help="the analyzer stops after N segments (0 = never)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(concurrent_processing(options_from_args(args), args.files, args.segments), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
