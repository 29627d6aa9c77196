"""The client library in-process against the real services: alert filters on the
classifier's real alerts, a producer restart, replicas sharing a group (and one dying),
and a cancelled stream saying BYE to the real producer."""
from __future__ import annotations

import asyncio
import signal
import time

import pytest
import zmq

from emwin_bus import AlertFilter, BusFileManager
from emwin_bus import geo
from harness import corpus, product_dir


async def blocking(fn, *args):
    """Runs a blocking harness call off the event loop (so the streams keep their heartbeats)."""
    return await asyncio.to_thread(fn, *args)


async def collect(stream, into: list) -> None:
    async for item in stream:
        into.append(item)


WARNINGS = (corpus("tornado_warning", exclude={"TORILX.txt"}) + corpus("severe_thunderstorm_warning")
            + corpus("flash_flood_warning")[:6] + corpus("winter_weather_message")[:6]
            + corpus("tabular_state_forecast"))


async def test_alert_filters_on_the_classifiers_real_alerts(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "warnings", WARNINGS), classifier=True)
    p.start_consumers()
    async with BusFileManager(p.options(group="t")) as fm:
        filters = {
            "all": AlertFilter(),
            "tornado": AlertFilter(phenomenon="TO", significance="W"),
            "tornado_topic": AlertFilter(topic="alert.TO.W."),
            "severe_new": AlertFilter(phenomenon="TO,SV", action="NEW"),
            "state": AlertFilter(state="OK"),
            "office": AlertFilter(office="OAX"),
            "urgent": AlertFilter(min_tier="WARNING"),
            "no_polygon": AlertFilter(has_polygon=False),
            "product": AlertFilter(product="SVR"),
        }
        got = {name: [] for name in filters}
        async with asyncio.TaskGroup() as tg:
            streams = {}
            for name, f in filters.items():
                streams[name] = await tg.create_task(_open(fm, f, name))
            for name, s in streams.items():
                tg.create_task(collect(s, got[name]))
            # Every group joined the classifier before any product flows.
            for name in filters:
                assert await blocking(p.classifier.wait_for_line, rf"replica .* joined group t-{name}\b", 20,
                                      "stderr"), p.describe()
            await asyncio.to_thread(p.start_feed)
            assert await blocking(p.wait_sim_done, 60), p.describe()
            sent = p.sent()
            assert await blocking(_wait, lambda: {a["file"] for a in p.alerts_logged()} >= set(sent), 30)
            n = len(p.alerts_logged())
            assert await _until(lambda: len(got["all"]) >= n)
            # Each filtered stream got exactly the matching alerts, in order.
            for name, f in filters.items():
                assert await _until(lambda: len(got[name]) >= sum(1 for a in got["all"] if f.matches(a))), name
            for s in streams.values():
                await s.close()
    alerts = got["all"]
    assert len(alerts) == n
    for name, f in filters.items():
        want = [a.header.sequence for a in alerts if f.matches(a)]
        assert [a.header.sequence for a in got[name]] == want, name
        if f.producer_prefixes() == ["alert."]:
            # Filtered here (not by the producer): every other alert was seen and counted.
            assert streams[name].stats.filtered_out == len(alerts) - len(want), name
    # The criteria mean what they say, checked against the alerts' own fields.
    tornado = [a.header.sequence for a in alerts if a.topic.startswith("alert.TO.W.")]
    assert len(tornado) >= 5
    assert [a.header.sequence for a in got["tornado"]] == tornado
    assert [a.header.sequence for a in got["tornado_topic"]] == tornado
    assert got["state"] and all(any(u.startswith("OK") for u in a.ugc) for a in got["state"])
    assert got["office"] and all("OAX" in (a.office + a.wmo_cccc) for a in got["office"])
    assert got["urgent"] and {a.tier_name for a in got["urgent"]} <= {"EMERGENCY", "WARNING"}
    assert {a.tier_name for a in alerts} - {"EMERGENCY", "WARNING"}  # some were left out
    assert got["no_polygon"] and all(len(a.polygon) == 0 for a in got["no_polygon"])
    assert got["severe_new"] and all(a.action == "NEW" and a.phenomenon in ("TO", "SV") for a in got["severe_new"])
    assert got["product"] and all(a.product_code == "SVR" for a in got["product"])

    # Points: the storm location (TIME...MOT...LOC) of a warning is usually inside its
    # polygon, but not always (SVRBMX.txt: the storm is still south-west of the area it
    # moves into; SVRMEG-SVRMEG_2.txt: it has left). The filter agrees with a winding-number
    # test on every one, and most are inside.
    located = [a for a in alerts if len(a.polygon) >= 3 and a.motion.locations]
    inside = 0
    for a in located:
        loc = a.motion.locations[0]
        want = winding_number(loc.lat_deg, loc.lon_deg, [(q.lat_deg, q.lon_deg) for q in a.polygon]) != 0
        assert AlertFilter(lat=loc.lat_deg, lon=loc.lon_deg).matches(a) == want, a
        assert not AlertFilter(lat=-loc.lat_deg, lon=loc.lon_deg).matches(a)
        inside += want
    assert len(located) >= 8 and inside >= len(located) * 2 // 3
    sv_bmx = [a for a in located if a.filename.startswith("SVRBMX")]
    assert sv_bmx and not AlertFilter(lat=32.21, lon=-88.53).matches(sv_bmx[0])
    # Within distance of a listed county's/zone's centroid (alerts without polygon too).
    table = geo.load_centroids()
    without_polygon = [a for a in alerts if not a.polygon and any(u in table for u in a.ugc)]
    assert len(without_polygon) >= 3
    for a in without_polygon + located:
        lat, lon = table[next(u for u in a.ugc if u in table)]
        assert AlertFilter(lat=lat, lon=lon, distance_km=5).matches(a), a
        # 1000 km south of that centroid is far from all of them (and outside any polygon).
        assert not AlertFilter(lat=lat - 9.0, lon=lon, distance_km=5).matches(a), a
        assert not AlertFilter(lat=lat, lon=lon, distance_km=0).matches(a) or len(a.polygon) >= 3


def winding_number(lat, lon, ring):
    """Winding number of the ring around the point (0 = outside), ring as (lat, lon)."""
    def is_left(a, b, p):
        return (b[1] - a[1]) * (p[0] - a[0]) - (p[1] - a[1]) * (b[0] - a[0])
    wn, p = 0, (lat, lon)
    pts = list(ring)
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    for a, b in zip(pts, pts[1:]):
        if a[0] <= lat < b[0] and is_left(a, b, p) > 0:
            wn += 1
        elif b[0] <= lat < a[0] and is_left(a, b, p) < 0:
            wn -= 1
    return wn


async def _open(fm, f, name):
    s = fm.stream_alerts(filter=f, group=f"t-{name}", max_queue_size=256)
    await s.open()
    return s


def _wait(cond, timeout):
    from harness import wait_until
    return wait_until(cond, timeout)


async def _until(cond, timeout: float = 20) -> bool:
    """Waits for cond() with a deadline (the loop keeps running); returns its last value."""
    try:
        async with asyncio.timeout(timeout):
            while not cond():
                await asyncio.sleep(0.01)
    except TimeoutError:
        return cond()
    return True


@pytest.mark.parametrize("keeps_groups", [False, True], ids=["groups-forgotten", "groups-kept"])
async def test_a_restarted_producer_loses_nothing(pipeline_factory, tmp_path, keeps_groups):
    """The assembler dies and comes back on the same endpoints, and publishes before our
    heartbeat reaches it. With its state dir it remembers our group and holds those files
    for us; without (a new state dir), they are only in its retention, and our REPLAY of its
    new epoch brings them."""
    files = corpus("marine_weather_message")[:30]
    p = pipeline_factory(product_dir(tmp_path, "marine", files), file_consumers=1, sim_args=["--rate", "25fps"])
    p.start_consumers()
    # The test's own view of what the assembler publishes: a plain SUB on its tap.
    ctx = zmq.Context()
    tap = ctx.socket(zmq.SUB)
    tap.setsockopt(zmq.LINGER, 0)
    tap.setsockopt(zmq.SUBSCRIBE, b"file.")
    tap.connect(p.asm_tap)
    got = []
    try:
        async with BusFileManager(p.options(group="t")) as fm:
            async with fm.stream_files(max_queue_size=64) as stream:
                task = asyncio.create_task(collect(stream, got))
                await asyncio.to_thread(p.start_feed)
                assert await _until(lambda: len(got) >= 3, 30), p.describe()
                # Freeze the source and let everything the assembler completed reach us, so the
                # old producer dies with nothing published and undelivered (see the report).
                p.sim.signal(signal.SIGSTOP)
                assert await _until(lambda: {f.filename for f in got} >= set(p.sent()), 20), p.describe()
                old_epoch = got[0].header.epoch
                # Now, while this event loop is blocked (no heartbeat can leave), the assembler is
                # restarted without waiting for consumers and publishes files our group does not
                # exist for yet: they are only in its retention.
                p.assembler.p.kill()
                p.assembler.p.wait()
                p.start_assembler(wait_consumers=0, state_dir=None if keeps_groups else tmp_path / "new-state")
                p.sim.signal(signal.SIGCONT)
                early = _published_by_new_epoch(tap, old_epoch, timeout=20)
                assert early, p.describe()
                # Back in the loop: our heartbeat registers the group, the next delivery shows the new
                # epoch, we ask once for a REPLAY of it, and the early files come back.
                assert await blocking(p.wait_sim_done, 90), p.describe()
                sent = p.sent()
                assert await _until(lambda: {f.filename for f in got} >= set(sent), 30), (
                    f"missing {sorted(set(sent) - {f.filename for f in got})} stats {stream.stats}\n{p.describe()}")
                stats = stream.stats
                task.cancel()
    finally:
        tap.close()
        ctx.term()
    assert {(f.filename, f.sha256) for f in got} == set(sent.items())
    assert stats.epochs_seen == 1 and stats.replay_requests == 1
    replayed_new = {f.filename for f in got if f.replayed and f.header.epoch != old_epoch}
    if keeps_groups:
        assert not set(early) & replayed_new  # held for us and delivered as usual
    else:
        assert set(early) <= replayed_new, (early, replayed_new)  # came only because we asked
    by_epoch = {}
    for f in got:
        by_epoch.setdefault(f.header.epoch, []).append(f.header.sequence)
    assert len(by_epoch) == 2 and all(len(v) == len(set(v)) for v in by_epoch.values())  # nothing twice


def _published_by_new_epoch(tap, old_epoch, timeout):
    """Blocking: names of files the tap saw from an epoch other than old_epoch, once there is one."""
    from emwin_bus._wire import parse_header
    names = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tap.poll(50):
            if names:
                return names
            continue
        topic, payload = tap.recv_multipart()
        if parse_header(payload).epoch != old_epoch:
            names.append(topic.decode().split(".", 2)[2])
    return names


async def test_replicas_share_a_group_and_a_dead_replicas_files_go_to_the_other(pipeline_factory, tmp_path):
    files = corpus("flood_warning")[:30]
    p = pipeline_factory(product_dir(tmp_path, "flood", files), file_consumers=2, sim_args=["--rate", "40fps"])
    p.start_consumers()
    # Replica A: the file_stream example in a process of its own, same group as B.
    a = p.example("file_stream.py", "--group", "shared", "--out", str(tmp_path / "a"), "--timeout", "90")
    got_b = []
    async with BusFileManager(p.options(group="shared", replica="b")) as fm:
        async with fm.stream_files(max_queue_size=4, group="shared-files") as stream:
            task = asyncio.create_task(collect(stream, got_b))
            await asyncio.to_thread(p.start_feed)
            # A gets a share of the files, then dies without a word (SIGKILL).
            assert await blocking(a.wait_for_line, r"^Received: ", 30), a.describe()
            a.p.kill()
            await asyncio.to_thread(a.p.wait)
            assert await blocking(p.wait_sim_done, 90), p.describe()
            sent = p.sent()
            got_a = {line.split()[1] for line in a.lines() if line.startswith("Received: ")}
            # After the producer's replica timeout (3 s) A's unacknowledged files go to B.
            assert await _until(lambda: got_a | {f.filename for f in got_b} >= set(sent), 30), (
                f"missing {sorted(set(sent) - got_a - {f.filename for f in got_b})}\n{p.describe()}")
            task.cancel()
    names_b = [f.filename for f in got_b]
    assert got_a and names_b
    assert got_a | set(names_b) == set(sent)
    assert len(names_b) == len(set(names_b))  # B saw nothing twice
    # Work was shared. What both saw is what A had handled but not yet acknowledged when it
    # died (delivery is at-least-once): acks go out in batches of 1/8 of the window (here
    # 100 // 8 = 12), so at most two batches and the file in hand.
    assert len(got_a & set(names_b)) <= 2 * (100 // 8) + 1
    # The producer noticed A was gone (by its silence, or at once when a send found no peer).
    lost = await blocking(p.assembler.wait_for_line, r"replica .*of group shared-files (lost|unroutable)", 10,
                          "stderr")
    assert lost, p.describe()


async def test_a_cancelled_stream_says_bye_to_the_real_producer(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "few", corpus("tabular_state_forecast")))
    p.start_consumers()
    async with BusFileManager(p.options(group="t", replica="byebye")) as fm:
        async def consume():
            async with fm.stream_files() as files:
                async for _ in files:
                    pass
        task = asyncio.create_task(consume())
        assert await blocking(p.assembler.wait_for_line, r"replica byebye joined group t-files", 10, "stderr")
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        # "left" (BYE), not "lost" (silence for the replica timeout).
        assert await blocking(p.assembler.wait_for_line, r"replica byebye of group t-files left", 10, "stderr")
    assert "byebye of group t-files lost" not in p.assembler.text("stderr")
