"""The guide's basic examples (file stream, segment stream) against a real sim-fed pipeline."""
from __future__ import annotations

import hashlib
import re
import signal

from harness import corpus, product_dir, wait_until

# A mix of real products: warnings (sent first by the sim's priority rule), statements, forecasts.
MIX = (corpus("tornado_warning", exclude={"TORILX.txt"}) + corpus("severe_thunderstorm_warning")
       + corpus("flood_statement")[:10] + corpus("tabular_state_forecast"))


def test_file_stream_receives_every_product_once_byte_identical(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "mix", MIX), file_consumers=1)
    p.start_consumers()
    out = tmp_path / "saved"
    ex = p.example("file_stream.py", "--out", str(out), "--count", str(len(MIX)), "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    sent = p.sent()
    assert len(sent) == len(MIX)
    lines = [line for line in ex.lines() if line.startswith("Received: ")]
    assert len(lines) == len(MIX), ex.describe()
    got = {}
    for line in lines:
        fields = line.split()
        name = fields[1]
        kv = dict(f.split("=", 1) for f in fields[2:])
        assert name not in got, f"{name} received twice"
        got[name] = kv["sha256"]
        assert kv["fd"] != "-"
    assert got == sent
    # What was saved is byte-identical to what the sim read from the corpus.
    saved = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()}
    assert saved == sent
    assert "lost=0" in ex.text("stderr")


def test_segment_stream_gets_every_block_number(pipeline_factory, tmp_path):
    files = corpus("tornado_warning", exclude={"TORILX.txt"})[:6] + corpus("tabular_state_forecast")
    p = pipeline_factory(product_dir(tmp_path, "seg", files), segment_consumers=1)
    p.start_consumers()
    ex = p.example("segment_stream.py", "--timeout", "60")
    p.start_feed()  # ingest reads nothing before the example's group joined
    assert p.wait_sim_done(60), p.describe()
    blocks = p.sent_blocks()
    expected = {(name, n, total) for name, total in blocks.items() for n in range(1, total + 1)}
    assert len(expected) > len(files)  # some products span several blocks

    def segments():
        out = []
        for line in ex.lines():
            m = re.match(r"^Segment: (\S+) \((\d+)/(\d+)\)", line)
            if m:
                out.append((m.group(1), int(m.group(2)), int(m.group(3))))
        return out
    assert wait_until(lambda: len(segments()) >= len(expected), 30), ex.describe()
    ex.signal(signal.SIGINT)  # runs until stopped, like the guide's loop
    assert ex.wait(10) == 0, ex.describe()
    got = segments()
    assert sorted(got) == sorted(expected)  # every block once, none of FILLFILE.TXT
    assert "stopped by signal SIGINT" in ex.text("stderr")
