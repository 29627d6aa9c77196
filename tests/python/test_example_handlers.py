"""The guide's error handling, priority, callbacks-vs-iterators, best-practices and migration
examples (examples/python/) against real sim-fed pipelines."""
from __future__ import annotations

import collections
import hashlib
import re
import signal

from harness import corpus, product_dir, wait_until

# Warnings and statements (high priority) mixed with routine products; FFWTWC_tilde.txt is
# a real product with a non-ASCII byte.
MIX = (corpus("tornado_warning", exclude={"TORILX.txt"})[:5] + corpus("severe_weather_statement")
       + corpus("flash_flood_warning") + corpus("flood_statement")[:8] + corpus("tabular_state_forecast")
       + corpus("regional_weather_roundup"))


def names(lines, prefix):
    rx = re.compile(rf"^{prefix} (\S+?):?(?: |$)")
    return [m.group(1) for m in map(rx.match, lines) if m]


def test_error_handling_isolates_failures_and_cancels_cleanly(pipeline_factory, tmp_path):
    files = product_dir(tmp_path, "mix", MIX)
    p = pipeline_factory(files, file_consumers=1)
    p.start_consumers()
    quarantine = tmp_path / "quarantine"
    # Runs until cancelled (no --count): SIGTERM must end it cleanly.
    ex = p.example("error_handling.py", "--quarantine", str(quarantine), "--reject", "^FLS",
                   "--timeout", "60")
    p.start_feed()
    assert p.wait_sim_done(60), p.describe()
    sent = p.sent()
    by_source = {}
    for line in p.sim.lines():
        if line.startswith("sent "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            by_source[kv["file"]] = kv["source"]

    def outcomes():
        return names(ex.lines(), "ok") + names(ex.lines(), "quarantined") + names(ex.lines(), "error")
    assert wait_until(lambda: len(outcomes()) >= len(sent), 30), ex.describe()
    ex.signal(signal.SIGTERM)
    assert ex.wait(10) == 0, ex.describe()
    # Exactly one outcome per file: the stream went on past every failure.
    assert sorted(outcomes()) == sorted(sent)
    rejected = sorted(n for n in sent if n.startswith("FLS"))
    assert sorted(names(ex.lines(), "quarantined")) == rejected and rejected
    non_ascii = sorted(n for n in sent if by_source[n].endswith("FFWTWC_tilde.txt"))
    assert names(ex.lines(), "error") == non_ascii and len(non_ascii) == 1
    assert sorted(f.name for f in quarantine.iterdir()) == rejected
    for name in rejected:
        assert hashlib.sha256((quarantine / name).read_bytes()).hexdigest() == sent[name]
    err = ex.text("stderr")
    assert "Unexpected error processing file: " + non_ascii[0] in err and "UnicodeDecodeError" in err
    assert err.count("WARNING error_handling: File processing failed") == len(rejected)
    assert "INFO error_handling: File processing cancelled after" in err
    assert "stopped by signal SIGTERM" in err
    # python -X dev: no warnings about pending tasks, unclosed sockets or unawaited coroutines.
    for bad in ("ResourceWarning", "Task was destroyed", "never awaited", "unclosed"):
        assert bad not in err, err


def test_priority_processing_routes_warnings_high(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "mix", MIX), file_consumers=1)
    p.start_consumers()
    ex = p.example("priority_processing.py", "--count", str(len(MIX)), "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    sent = p.sent()
    high = sorted(n for n in sent if n.startswith(("TOR", "SVR", "FFW", "SMW", "EWW", "SQW", "SVS", "FFS")))
    assert high and len(high) < len(sent)
    assert sorted(names(ex.lines(), "HIGH")) == high
    assert sorted(names(ex.lines(), "low")) == sorted(set(sent) - set(high))


def test_callbacks_and_iterator_each_see_every_file_and_a_failing_callback_is_isolated(pipeline_factory, tmp_path):
    # Two consumer groups at the assembler: the handlers' stream and the iterator's.
    p = pipeline_factory(product_dir(tmp_path, "mix", MIX), file_consumers=2)
    p.start_consumers()
    out = tmp_path / "saved"
    ex = p.example("callbacks_vs_iterators.py", "--out", str(out), "--fail", "^(TOR|SVS)",
                   "--count", str(len(MIX)), "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    sent = p.sent()
    failing = sorted(n for n in sent if n.startswith(("TOR", "SVS")))
    assert failing
    assert sorted(names(ex.lines(), "iterator")) == sorted(sent)
    assert sorted(names(ex.lines(), "callback save")) == sorted(sent)
    assert sorted(names(ex.lines(), "callback process")) == sorted(sent)
    assert sorted(names(ex.lines(), "callback validate")) == sorted(set(sent) - set(failing))
    assert f"handler_calls={3 * len(sent)} handler_errors={len(failing)}" in ex.lines()
    assert {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()} == sent
    err = ex.text("stderr")
    assert err.count("file handler validate_file_callback failed") == len(failing)


def test_best_practices_isolation_concurrency_and_monitor(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "mix", MIX), file_consumers=1, segment_consumers=1)
    p.start_consumers()
    out = tmp_path / "saved"
    ex = p.example("best_practices.py", "--out", str(out), "--fail", "^FFW", "--count", str(len(MIX)),
                   "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    sent = p.sent()
    failing = sorted(n for n in sent if n.startswith("FFW"))
    assert failing
    assert sorted(names(ex.lines(), "isolated failure")) == failing
    assert sorted(names(ex.lines(), "validated")) == sorted(set(sent) - set(failing))
    # A failed validation cancelled the save of the same file, and only that one.
    assert sorted(names(ex.lines(), "saved")) == sorted(set(sent) - set(failing))
    assert sorted(f.name for f in out.iterdir()) == sorted(set(sent) - set(failing))
    assert any(line.startswith("monitor assembler.test ") for line in ex.lines())
    analyzed = int(re.search(r"^segments analyzed=(\d+)$", ex.text(), re.M).group(1))
    assert analyzed > 0


def test_migration_callbacks_and_iterators_together(pipeline_factory, tmp_path):
    p = pipeline_factory(product_dir(tmp_path, "mix", MIX[:12]), file_consumers=2)
    p.start_consumers()
    ex = p.example("migration.py", "--style", "both", "--count", "12", "--timeout", "60")
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    sent = sorted(p.sent())
    assert sorted(names(ex.lines(), "callback")) == sent
    assert sorted(names(ex.lines(), "iterator")) == sent
    counts = collections.Counter(ex.lines())
    assert max(counts.values()) == 1  # nothing twice
