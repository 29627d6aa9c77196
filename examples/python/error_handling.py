#!/usr/bin/env python3
"""Guide, Advanced Patterns 4 -- Error Handling and Recovery, on the emwin bus.

Each file is checked (a text product must start with a WMO heading and an AWIPS id
line and be ASCII); a product that fails the check raises ProcessingError and is
quarantined under --quarantine; any other exception is logged with its traceback.
Either way the stream goes on with the next file. Ctrl-C (or SIGTERM) cancels the
loop: "File processing cancelled" is logged and the file manager is stopped in
`finally`, which closes the stream cleanly (the file in hand is not acknowledged,
so it is delivered again next time).

    python3 examples/python/error_handling.py [--host HOST] [--quarantine DIR] [--reject REGEX]
        [--count N] [--timeout S]

--reject REGEX: also treat matching file names as failing the check (to try it out).
"""
import argparse
import asyncio
import logging
import re
import sys
from pathlib import Path

from emwin_bus import BusFileManager, add_arguments, options_from_args, run

logger = logging.getLogger("error_handling")

WMO_HEADING = re.compile(rb"^[A-Z]{4}\d{2} [A-Z]{4} \d{6}( [A-Z]{3})?\r*$", re.M)


class ProcessingError(Exception):
    """The product is not what this processor accepts."""


class Processor:
    def __init__(self, quarantine: Path, reject: str | None):
        self.quarantine = quarantine
        self.reject = re.compile(reject) if reject else None

    async def process_file_safely(self, file) -> None:
        if self.reject and self.reject.search(file.filename):
            raise ProcessingError(f"{file.filename}: rejected by --reject")
        if not file.filename.upper().endswith(".TXT"):
            print(f"ok {file.filename} (not text)", flush=True)
            return
        m = WMO_HEADING.search(file.data[:512])
        if not m:
            raise ProcessingError(f"{file.filename}: no WMO heading")
        rest = file.data[m.end():].lstrip(b"\r\n")
        awips = rest.split(b"\n", 1)[0].strip()
        if not re.fullmatch(rb"[A-Z0-9]{4,6}", awips):
            raise ProcessingError(f"{file.filename}: no AWIPS id after the heading")
        text = file.data.decode("ascii")  # strict: a non-ASCII product is an unexpected error here
        print(f"ok {file.filename} {m.group(0).decode().strip()} {awips.decode()} lines={text.count(chr(10))}",
              flush=True)

    async def handle_processing_error(self, file, error: Exception) -> None:
        self.quarantine.mkdir(parents=True, exist_ok=True)
        name = Path(file.filename).name
        await asyncio.to_thread((self.quarantine / name).write_bytes, file.data)
        print(f"quarantined {file.filename}: {error}", flush=True)


async def robust_processing(options, processor: Processor, count: int) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    handled = 0
    try:
        async with file_manager.stream_files() as files:
            async for file in files:
                try:
                    await processor.process_file_safely(file)
                except ProcessingError as e:
                    logger.warning("File processing failed: %s", e)
                    await processor.handle_processing_error(file, e)
                except Exception:
                    logger.exception("Unexpected error processing file: %s", file.filename)
                    print(f"error {file.filename}", flush=True)
                handled += 1
                if count and handled >= count:
                    break
    except asyncio.CancelledError:
        logger.info("File processing cancelled after %d files", handled)
        raise
    finally:
        await file_manager.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    ap.add_argument("--quarantine", default="quarantine", help="where failing files go (default %(default)s)")
    ap.add_argument("--reject", help="regex: file names to treat as failing the check")
    ap.add_argument("--count", type=int, default=0, help="stop after N files (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    processor = Processor(Path(args.quarantine), args.reject)
    return run(robust_processing(options_from_args(args), processor, args.count), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
