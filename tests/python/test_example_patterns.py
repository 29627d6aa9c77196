"""The guide's advanced patterns as programs (examples/python/) against real pipelines:
concurrent processing, filtering and batching, backpressure on both paths."""
from __future__ import annotations

import collections
import json
import re
import subprocess

from harness import CORPUS_DIR, binary, corpus, product_dir, wait_until

LIVE = CORPUS_DIR / "live" / "stream0-20260303.bin"


def inspect_capture(path):
    """What emwin-inspect (the offline decoder) finds in a wire capture: files and the summary."""
    out = subprocess.run([binary("tools/inspect/emwin-inspect"), str(path)], capture_output=True, text=True,
                         check=True).stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    files = [e for e in events if e["event"] == "file"]
    summary = next(e for e in events if e["event"] == "summary")
    return files, summary


def test_concurrent_processing_text_images_and_every_segment(pipeline_factory):
    # The real capture: V1 and V2 blocks, ZIP archives (one holding a GIF image).
    files, summary = inspect_capture(LIVE)
    p = pipeline_factory(replay=LIVE, file_consumers=2, segment_consumers=1)
    p.start_consumers()
    ex = p.example("concurrent_processing.py", "--files", str(len(files)), "--segments", str(summary["segments"]),
                   "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    text = collections.Counter(m.group(1) for m in map(re.compile(r"^text (\S+) ").match, ex.lines()) if m)
    images = [line for line in ex.lines() if line.startswith("image ")]
    want_text = collections.Counter(f["name"] for f in files if f["name"].lower().endswith(".txt"))
    assert text == want_text
    want_images = [f for f in files if f["name"].lower().endswith((".gif", ".png", ".jpg"))]
    assert len(want_images) == 1 and len(images) == 1
    assert images[0].startswith(f"image {want_images[0]['name']} bytes={want_images[0]['size']} format=gif "
                                f"from {want_images[0]['archive']['name']}")
    # Every block, V2 (zlib) ones included.
    assert (f"segments total={summary['segments']} V1={summary['frames_v1']} V2={summary['frames_v2']}"
            in ex.lines()), ex.describe()
    assert summary["frames_v2"] > 0


def tornado_mix(tmp_path):
    # Live tornado warnings (TORILX is a TEST message) among other warnings and statements.
    files = (corpus("tornado_warning", exclude={"TORILX.txt"}) + corpus("severe_thunderstorm_warning")[:5]
             + corpus("flash_flood_warning")[:4] + corpus("tornado_emergency_statement"))
    return product_dir(tmp_path, "tornado-mix", files)


def alert_key(topic, file, segment, action):
    return (topic, file, int(segment), action or "-")


def test_filtering_batching_gets_exactly_the_tornado_warnings(pipeline_factory, tmp_path):
    p = pipeline_factory(tornado_mix(tmp_path), classifier=True)
    p.start_consumers()
    ex = p.example("filtering_batching.py", "--batch", "3", "--flush-after", "0.5", "--timeout", "60")
    # The example's group joins the classifier's pipeline before data flows: wait for its
    # first heartbeat to register, by watching the classifier's log.
    assert p.classifier.wait_for_line(r"replica .* joined group python-alerts", 20, "stderr"), p.describe()
    p.start_feed()
    assert p.wait_sim_done(60), p.describe()
    sent = p.sent()
    # Every product classified (the log has one or more alerts per file).
    assert wait_until(lambda: {a["file"] for a in p.alerts_logged()} >= set(sent), 30), p.describe()
    logged = p.alerts_logged()
    want = collections.Counter(alert_key(a["topic"], a["file"], a["segment"], a["action"]) for a in logged
                               if a["phenomenon"] == "TO" and a["significance"] == "W")
    assert len(want) >= 5 and len(logged) > sum(want.values())

    rx = re.compile(r"^notify (\S+) .* action=(\S+) .* file=(\S+) segment=(\d+) ")

    def got():
        return collections.Counter(alert_key(m.group(1), m.group(3), m.group(4), m.group(2))
                                   for m in map(rx.match, ex.lines()) if m)
    assert wait_until(lambda: sum(got().values()) >= sum(want.values()), 20), ex.describe()
    ex.signal(15)
    assert ex.wait(10) == 0, ex.describe()
    assert got() == want
    batches = [int(m.group(1)) for m in map(re.compile(r"^Processing (\d+) alerts").match, ex.lines()) if m]
    assert sum(batches) == sum(want.values()) and max(batches) <= 3


def test_backpressure_pipeline_holds_the_producer_and_loses_nothing(pipeline_factory, tmp_path):
    files = corpus("flood_statement") + corpus("flood_warning") + corpus("winter_weather_message")[:30]
    # Small queues and windows (assembler: 4 files per group, 128 segments in flight from
    # ingest; ingest: 16 segments per group), so a slow consumer makes both wait quickly.
    p = pipeline_factory(product_dir(tmp_path, "many", files), file_consumers=1,
                         assembler_args=["--hwm", "4", "--credit", "128"], ingest_args=["--hwm", "16"])
    p.start_consumers()
    ex = p.example("backpressure.py", "--max-queue-size", "4", "--delay", "0.02", "--count", str(len(files)),
                   "--timeout", "90")
    p.start_feed()
    assert ex.wait(90) == 0, ex.describe()
    sent = p.sent()
    processed = [line.split()[1].rstrip(".") for line in ex.lines() if line.startswith("Processing ")]
    assert sorted(processed) == sorted(sent)  # every file, once: nothing lost
    consumer = next(line for line in ex.lines() if line.startswith("consumer "))
    assert f"processed={len(files)} received={len(files)} overflow=0 gaps=0 missed=0" in consumer
    held_s = float(re.search(r"held_s=([\d.]+)", consumer).group(1))
    assert held_s > 0.5  # our window was full most of the time...
    producer = dict(re.findall(r"(\w+)=(\d+)", next(line for line in ex.lines() if line.startswith("producer "))))
    # ...and the producers waited for us: the assembler took no segments while its queue for us
    # was full, and then ingest stopped reading its server (their own backpressure counters).
    assert int(producer["assembler_paused_ms"]) > 0
    assert int(producer["ingest_paused_ms"]) > 0
    assert int(producer["assembler_queue_max"]) >= 4


def test_backpressure_tap_never_holds_and_counts_what_it_dropped(pipeline_factory, tmp_path):
    files = corpus("flood_statement") + corpus("flood_warning")[:20]
    p = pipeline_factory(product_dir(tmp_path, "many", files))  # no pipeline consumer: nothing can hold
    p.start_consumers()
    ex = p.example("backpressure.py", "--mode", "tap", "--max-queue-size", "4", "--delay", "0.03",
                   "--count", str(len(files)), "--timeout", "60")
    # The producer's stats reaching the example prove its tap subscriptions are live.
    assert ex.wait_for_line(r"^producer assembler\.test", 20, "stderr"), ex.describe()
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    consumer = next(line for line in ex.lines() if line.startswith("consumer "))
    f = {k: int(v) if v.isdigit() else v for k, v in re.findall(r"(\w+)=(\S+)", consumer)}
    assert f["mode"] == "tap"
    assert f["span"] == len(files)                                 # every file published was seen or counted
    assert f["received"] + f["overflow"] + f["missed"] == f["span"]  # and accounted for exactly
    assert f["overflow"] + f["missed"] > 0 and f["received"] < len(files)
    assert f["processed"] == f["received"]
    producer = dict(re.findall(r"(\w+)=(\d+)", next(line for line in ex.lines() if line.startswith("producer "))))
    assert (producer["assembler_paused_ms"], producer["ingest_paused_ms"], producer["assembler_queue_max"]) == (
        "0", "0", "0")  # nothing waited
