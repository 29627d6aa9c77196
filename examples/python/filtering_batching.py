#!/usr/bin/env python3
"""Guide, Advanced Patterns 2 -- Filtering and Batching, on the emwin bus.

Where the guide filters file names for "ALERT", the bus has structured alerts:
stream_alerts() with the gateway's filters (default: tornado warnings). Alerts are
processed in batches of --batch (a partial batch after --flush-after seconds of
quiet), each batch's notifications concurrently in a TaskGroup. Alerts are
acknowledged only once their batch was processed (auto_ack=False), so on the
pipeline path an alert is never lost between arrival and notification.

    python3 examples/python/filtering_batching.py [--host HOST] [--phenomenon TO --significance W]
        [--state IA] [--office KDMX] [--min-tier WARNING] [--lat 41.6 --lon -93.6 --distance-km 50]
        [--batch 5] [--count N] [--timeout S]
"""
import argparse
import asyncio
import sys

from emwin_bus import AlertFilter, BusFileManager, add_arguments, options_from_args, run


async def filtered_batch_processing(options, criteria: AlertFilter, batch_size: int, flush_after: float,
                                    count: int) -> int:
    file_manager = BusFileManager(options)

    await file_manager.start()
    try:
        async with file_manager.stream_alerts(filter=criteria, auto_ack=False) as alerts:
            batch = []
            seen = 0
            while not count or seen < count:
                try:
                    # A partial batch does not wait for ever: flush it after a quiet spell.
                    async with asyncio.timeout(flush_after if batch else None):
                        alert = await anext(alerts)
                except TimeoutError:
                    await process_alert_batch(batch, alerts)
                    batch.clear()
                    continue
                except StopAsyncIteration:
                    break
                seen += 1
                batch.append(alert)
                # Process in batches of --batch
                if len(batch) >= batch_size:
                    await process_alert_batch(batch, alerts)
                    batch.clear()
            if batch:
                await process_alert_batch(batch, alerts)
            print(f"alerts notified={seen} not_matching={alerts.stats.filtered_out}", file=sys.stderr)
    finally:
        await file_manager.stop()
    return 0


async def process_alert_batch(batch, alerts) -> None:
    """Process high-priority alerts together."""
    print(f"Processing {len(batch)} alerts", flush=True)
    async with asyncio.TaskGroup() as tg:
        for alert in batch:
            tg.create_task(send_alert_notification(alert))
    for alert in batch:
        alerts.ack(alert)  # handled: the producer may forget it


async def send_alert_notification(alert) -> None:
    await asyncio.sleep(0)  # stand-in for an HTTP call, a message queue, ...
    print(f"notify {alert.topic} {alert.event_name!r} action={alert.action or '-'} office={alert.office} "
          f"tier={alert.tier_name} ugc={','.join(alert.ugc)} file={alert.filename} "
          f"segment={alert.segment_index} sha256={alert.file_sha256}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    f = ap.add_argument_group("alert filters (the gateway's; comma lists allowed)")
    f.add_argument("--topic", help="topic prefix, e.g. alert.TO.W.")
    f.add_argument("--product", help="product code (TOR) or AWIPS id (TORDMX)")
    f.add_argument("--office", help="issuing office, KDMX or DMX")
    f.add_argument("--state", help="two-letter state of a UGC code")
    f.add_argument("--ugc", help="county or zone code, e.g. IAC015")
    f.add_argument("--phenomenon", default="TO", help="VTEC phenomenon (default %(default)s; '' = any)")
    f.add_argument("--significance", default="W", help="VTEC significance (default %(default)s; '' = any)")
    f.add_argument("--action", help="VTEC action, e.g. NEW")
    f.add_argument("--min-tier", help="EMERGENCY, WARNING, WATCH, ADVISORY, STATEMENT or ROUTINE")
    f.add_argument("--lat", type=float)
    f.add_argument("--lon", type=float)
    f.add_argument("--distance-km", type=float, default=0.0)
    f.add_argument("--has-polygon", choices=("yes", "no"))
    ap.add_argument("--batch", type=int, default=5, help="alerts per batch (default %(default)s)")
    ap.add_argument("--flush-after", type=float, default=2.0, help="flush a partial batch after S quiet seconds")
    ap.add_argument("--count", type=int, default=0, help="stop after N alerts (0 = run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0, help="give up after S seconds (exit status 1)")
    args = ap.parse_args()
    try:
        criteria = AlertFilter(topic=args.topic, product=args.product, office=args.office, state=args.state,
                               ugc=args.ugc, phenomenon=args.phenomenon or None,
                               significance=args.significance or None, action=args.action,
                               min_tier=args.min_tier, lat=args.lat, lon=args.lon, distance_km=args.distance_km,
                               has_polygon=None if args.has_polygon is None else args.has_polygon == "yes")
    except (ValueError, FileNotFoundError) as e:
        ap.error(str(e))
    return run(filtered_batch_processing(options_from_args(args), criteria, args.batch, args.flush_after,
                                         args.count), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
