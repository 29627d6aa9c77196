"""Fixtures of the Python client's tests: real pipelines, always torn down."""
from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import Pipeline  # noqa: E402


@pytest.fixture
def pipeline_factory(request, tmp_path):
    """Makes Pipelines in the test's tmp dir; every process is killed at teardown.
    On failure the processes' output is added to the report."""
    made: list[Pipeline] = []
    request.node.emwin_pipelines = made

    def make(*args, **kwargs) -> Pipeline:
        p = Pipeline(tmp_path / f"p{len(made)}", *args, **kwargs)
        p.dir.mkdir(parents=True, exist_ok=True)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()
    # Every example program shut down cleanly, and no service reported a memory error (in an
    # EMWIN_SANITIZE build), whatever the test checked. Leaks the services report at exit are
    # theirs, not the client's: they are listed at the end of the run instead.
    warnings = [w for p in made for w in p.example_warnings() + p.sanitizer_reports()]
    _leaks.extend(w for p in made for w in p.leak_reports())
    assert not warnings, "\n".join(warnings)


_leaks: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if _leaks:
        terminalreporter.section("LeakSanitizer reports of the services (at exit)")
        for line in sorted(set(_leaks)):
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for p in getattr(item, "emwin_pipelines", []):
            report.sections.append(("pipeline processes", p.describe()))
