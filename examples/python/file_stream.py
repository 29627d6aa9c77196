#!/usr/bin/env python3
"""Guide, Basic Usage 1 -- File Stream Processing, on the emwin bus.

Receives every completed file (each once: retransmissions are suppressed by the
assembler) and saves it under --out, printing one line per file with what the bus
adds to the ByteBlaster library's CompletedFile: the /FD time and the SHA-256.

    python3 examples/python/file_stream.py [--host HOST | --files-pipe tcp://H:5612] \
        [--out weather_data] [--count N] [--timeout S] [--mode pipeline|tap]

Needs the emwin_bus package (pip install ./python) and a running pipeline
(deploy/run-local). Ctrl-C stops it cleanly.
"""
import argparse
import asyncio
import sys
from pathlib import Path

from emwin_bus import BusFileManager, add_arguments, options_from_args, run


async def process_files(options, output_dir: Path, count: int) -> int:
    file_manager = BusFileManager(options)            # was: ByteBlasterFileManager(options)

    await file_manager.start()
    try:
        # Process files using async iterator
        async with file_manager.stream_files() as files:
            received = 0
            async for completed_file in files:
                fd = completed_file.fd_time
                print(f"Received: {completed_file.filename} size={len(completed_file.data)} "
                      f"sha256={completed_file.sha256} fd={fd.isoformat() if fd else '-'}", flush=True)
                # Process file here
                await save_file(completed_file, output_dir)
                received += 1
                if count and received >= count:
                    break
            print(f"done files={received} duplicates_dropped={files.stats.duplicates} "
                  f"lost={files.stats.lost}", file=sys.stderr)
    finally:
        await file_manager.stop()
    return 0


async def save_file(file, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    # Names come from the feed: keep the last path component only, never write elsewhere.
    name = Path(file.filename).name
    if name in ("", ".", ".."):
        print(f"skipping unsafe name {file.filename!r}", file=sys.stderr)
        return
    # Blocking disk I/O goes to a thread so the stream (and its heartbeats) keep running.
    await asyncio.to_thread((output_dir / name).write_bytes, file.data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--out", default="weather_data", help="directory for the files (default %(default)s)")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    return run(process_files(options_from_args(args), Path(args.out), args.count), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
