"""Test harness: real emwin-bus processes on 127.0.0.1 with kernel-chosen ports.

Proc starts one child (stdout/stderr captured to files, killed with the test process
even if pytest dies: PR_SET_PDEATHSIG), waits for output lines with deadlines, and is
always killed by close(). Pipeline starts emwin-sim, emwin-ingest, emwin-assembler and
optionally emwin-alert-classifier in the order that lets consumers join before data
flows (--wait-consumers), like tests/integration_bus/pipeline_harness.h.

Paths come from the environment CTest sets: EMWIN_BINARY_DIR (build tree),
EMWIN_SOURCE_DIR (checkout), EMWIN_CORPUS_DIR (../shared/corpus). Test-thread only.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Callable, Iterable, Optional

SOURCE_DIR = pathlib.Path(os.environ.get("EMWIN_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[2])
BINARY_DIR = pathlib.Path(os.environ.get("EMWIN_BINARY_DIR") or SOURCE_DIR / "build")
CORPUS_DIR = pathlib.Path(os.environ.get("EMWIN_CORPUS_DIR") or SOURCE_DIR.parent / "shared" / "corpus")
PRODUCTS = CORPUS_DIR / "products"
EXAMPLES = SOURCE_DIR / "examples" / "python"
# Debian's interpreter: it has python3-zmq and python3-protobuf (a pyenv python3 on PATH does not).
PYTHON = os.environ.get("EMWIN_PYTHON3") or "/usr/bin/python3"
# Sanitizer builds are several times slower.
SLOW = 4 if os.environ.get("EMWIN_SANITIZE") in ("1", "ON") or "asan" in str(BINARY_DIR) else 1

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()


def binary(relative: str) -> str:
    path = BINARY_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not built (build the tree first: scripts/build)")
    return str(path)


_GIVEN_PORTS: set[int] = set()


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range.

    A port the kernel hands out for port 0 can meanwhile become the local port of an outgoing
    connection (even a ZeroMQ client retrying a connect to that very port, which then connects
    to itself); below the ephemeral range no connection gets it. Never the same port twice.
    """
    high = min(_ephemeral_low(), 65536) - 1
    for _ in range(500):
        if high - 10000 < 1000:
            break
        port = random.randint(10000, high)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoint() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Polls `condition` until true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(interval)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def python_env(extra: Optional[dict] = None) -> dict:
    """Environment for example programs: the test's PYTHONPATH (in-tree package and generated modules)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Proc:
    """One child process with captured output. close() kills it (idempotent)."""

    def __init__(self, argv: list[str], name: str, log_dir: pathlib.Path, env: Optional[dict] = None,
                 cwd: Optional[pathlib.Path] = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.out_path = log_dir / f"{name}.stdout"
        self.err_path = log_dir / f"{name}.stderr"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                      env=env, cwd=cwd or log_dir, preexec_fn=_die_with_parent)

    @property
    def pid(self) -> int:
        return self.p.pid

    def text(self, stream: str = "stdout") -> str:
        path = self.out_path if stream == "stdout" else self.err_path
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def lines(self, stream: str = "stdout") -> list[str]:
        text = self.text(stream)
        # only complete lines
        return text.split("\n")[:-1]

    def wait_for_line(self, pattern: str, timeout: float, stream: str = "stdout") -> Optional[re.Match]:
        rx = re.compile(pattern)
        found: list[re.Match] = []

        def check() -> bool:
            for line in self.lines(stream):
                m = rx.search(line)
                if m:
                    found.append(m)
                    return True
            return False
        wait_until(check, timeout)
        return found[0] if found else None

    def running(self) -> bool:
        return self.p.poll() is None

    def signal(self, sig: int) -> None:
        if self.running():
            self.p.send_signal(sig)

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.running():
            self.p.kill()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def describe(self) -> str:
        err = self.text("stderr")
        out = self.text("stdout")
        return (f"---- {self.name} (pid {self.pid}, rc {self.p.poll()}) {' '.join(self.argv)}\n"
                f"stdout (tail):\n{out[-3000:]}\nstderr (tail):\n{err[-3000:]}\n")


def product_dir(tmp: pathlib.Path, name: str, files: Iterable[pathlib.Path]) -> pathlib.Path:
    """A directory of symlinks to chosen corpus products (the sim sends every file below it)."""
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    for f in files:
        (d / f.name).symlink_to(f)  # corpus names are unique; the sim derives QBT names from them
    return d


def corpus(category: str, exclude: Iterable[str] = ()) -> list[pathlib.Path]:
    skip = set(exclude)
    return sorted(p for p in (PRODUCTS / category).iterdir() if p.is_file() and p.name not in skip)


class Pipeline:
    """sim -> ingest -> assembler [-> alert-classifier], on kernel-chosen ports."""

    def __init__(self, tmp: pathlib.Path, products: Optional[pathlib.Path] = None, *, classifier: bool = False,
                 file_consumers: int = 0, segment_consumers: int = 0, alert_consumers: int = 0,
                 sim_args: Iterable[str] = (), ingest_args: Iterable[str] = (),
                 assembler_args: Iterable[str] = (), replay: Optional[pathlib.Path] = None,
                 keys: bool = False):
        self.dir = tmp
        # With keys: CURVE on every bus endpoint (emwin-keygen --init; EMWIN_KEYS for every service).
        self.keys_dir: Optional[pathlib.Path] = tmp / "keys" if keys else None
        self.products = products
        self.replay = replay
        self.classifier_enabled = classifier
        self.file_consumers = file_consumers
        self.segment_consumers = segment_consumers
        self.alert_consumers = alert_consumers
        self.sim_args = list(sim_args)
        self.ingest_args = list(ingest_args)
        self.assembler_args = list(assembler_args)
        self.ingest_tap, self.ingest_pipe = endpoint(), endpoint()
        self.asm_tap, self.asm_pipe = endpoint(), endpoint()
        self.cls_tap, self.cls_pipe = endpoint(), endpoint()
        self.alert_log = tmp / "alerts.jsonl"
        self.procs: list[Proc] = []
        self.examples: list[Proc] = []
        self.sim: Optional[Proc] = None
        self.ingest: Optional[Proc] = None
        self.assembler: Optional[Proc] = None
        self.classifier: Optional[Proc] = None
        self._assembler_starts = 0

    # -- starting ----------------------------------------------------------------

    def make_keys(self) -> None:
        """emwin-keygen --init into keys_dir (once)."""
        assert self.keys_dir is not None
        if (self.keys_dir / "bus.key").exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([binary("tools/keygen/emwin-keygen"), "--dir", str(self.keys_dir), "--init"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    def allow(self, rule: str, identity: str) -> None:
        """emwin-keygen --allow RULE IDENTITY (e.g. a Python stream's group)."""
        self.make_keys()
        done = subprocess.run([binary("tools/keygen/emwin-keygen"), "--dir", str(self.keys_dir), "--allow", rule,
                               identity], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    def _start(self, argv: list[str], name: str) -> Proc:
        env = None
        if self.keys_dir is not None and not argv[0].endswith("emwin-sim"):
            self.make_keys()
            env = {**os.environ, "EMWIN_KEYS": str(self.keys_dir)}
        p = Proc(argv, name, self.dir, env=env)
        self.procs.append(p)
        return p

    def start_consumers(self) -> None:
        """alert-classifier (optional) and assembler; the assembler takes no segments until
        the classifier and `file_consumers` more pipeline replicas joined it."""
        if self.classifier_enabled:
            self.classifier = self._start([
                binary("services/sinks/alert_classifier/emwin-alert-classifier"), "--connect", self.asm_pipe,
                "--pub", self.cls_tap, "--pipe", self.cls_pipe, "--stats-interval-ms", "300",
                "--alert-log", str(self.alert_log), "--instance", "test"], "classifier")
        self.start_assembler()

    def start_assembler(self, wait_consumers: Optional[int] = None, state_dir: Optional[pathlib.Path] = None) -> Proc:
        """Starts (or restarts) the assembler. Its state (position at ingest, the downstream groups
        it knows) is kept in `state_dir`, by default the same directory for every start."""
        if wait_consumers is None:
            wait_consumers = self.file_consumers + (1 if self.classifier_enabled else 0)
        self._assembler_starts += 1
        self.assembler = self._start([
            binary("services/assembler/emwin-assembler"), "--connect", self.ingest_pipe, "--pub", self.asm_tap,
            "--pipe", self.asm_pipe, "--stats-interval-ms", "300", "--wait-consumers", str(wait_consumers),
            "--instance", "test", "--state-dir", str(state_dir or self.dir / "assembler-state"),
            *self.assembler_args], f"assembler-{self._assembler_starts}")
        return self.assembler

    def start_feed(self) -> None:
        """The source: emwin-sim + emwin-ingest (or ingest replaying a capture); ingest reads
        nothing until the assembler and `segment_consumers` more replicas joined it."""
        wait = str(1 + self.segment_consumers)
        common = ["--pub", self.ingest_tap, "--pipe", self.ingest_pipe, "--stats-interval-ms", "300",
                  "--wait-consumers", wait, "--instance", "test", "--state-dir", str(self.dir / "ingest")]
        if self.replay is not None:
            self.ingest = self._start([binary("services/ingest/emwin-ingest"), "--replay", str(self.replay),
                                       *common, *self.ingest_args], "ingest")
            return
        self.sim = self._start([
            binary("tools/sim/emwin-sim"), "--listen", "127.0.0.1:0", "--products", str(self.products),
            "--stats-interval-ms", "500", "--no-server-list", "--retransmit-delay-s", "0", "--once",
            *self.sim_args], "sim")
        m = self.sim.wait_for_line(r"^listening 127\.0\.0\.1:(\d+)", 10)
        assert m, self.sim.describe()
        self.ingest = self._start([
            binary("services/ingest/emwin-ingest"), "--server", f"127.0.0.1:{m.group(1)}",
            "--email", "python-test@example.org", *common, *self.ingest_args], "ingest")

    def start(self) -> "Pipeline":
        self.start_consumers()
        self.start_feed()
        return self

    # -- what the source sent ------------------------------------------------------

    def wait_sim_done(self, timeout: float = 60) -> bool:
        assert self.sim is not None
        return self.sim.wait_for_line(r"^done ", timeout) is not None

    def sent(self) -> dict[str, str]:
        """Distinct products the sim sent: QBT name -> sha256 of the file."""
        out = {}
        for line in self.sim.lines():
            if line.startswith("sent "):
                f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
                out[f["file"]] = f["sha256"]
        return out

    def sent_blocks(self) -> dict[str, int]:
        """Block count of every product the sim sent, by QBT name."""
        out = {}
        for line in self.sim.lines():
            if line.startswith("sent "):
                f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
                out[f["file"]] = int(f["blocks"])
        return out

    def alerts_logged(self) -> list[dict]:
        """Alerts the classifier published, from its --alert-log (one JSON object per line)."""
        if not self.alert_log.exists():
            return []
        return [json.loads(line) for line in self.alert_log.read_text().splitlines() if line.strip()]

    # -- for clients -------------------------------------------------------------------

    def endpoint_args(self) -> list[str]:
        """Command-line endpoint options of the example programs (emwin_bus.add_arguments)."""
        return ["--segments-pipe", self.ingest_pipe, "--segments-tap", self.ingest_tap,
                "--files-pipe", self.asm_pipe, "--files-tap", self.asm_tap,
                "--alerts-pipe", self.cls_pipe, "--alerts-tap", self.cls_tap]

    def options(self, **kw):
        from emwin_bus import BusClientOptions
        return BusClientOptions(segments_pipe=self.ingest_pipe, segments_tap=self.ingest_tap,
                                files_pipe=self.asm_pipe, files_tap=self.asm_tap,
                                alerts_pipe=self.cls_pipe, alerts_tap=self.cls_tap, **kw)

    def example(self, script: str, *args: str, name: Optional[str] = None, env: Optional[dict] = None,
                python: str = PYTHON) -> Proc:
        """Starts examples/python/<script> with the pipeline's endpoints, in Python's development
        mode (warnings shown: unclosed sockets, tasks destroyed pending, unawaited coroutines)."""
        p = Proc([python, "-X", "dev", str(EXAMPLES / script), *self.endpoint_args(), *args],
                 name or pathlib.Path(script).stem, self.dir, env=python_env(env))
        self.procs.append(p)
        self.examples.append(p)
        return p

    def example_warnings(self) -> list[str]:
        """Lines of the examples' stderr that show an unclean shutdown or a Python warning."""
        bad = ("ResourceWarning", "Task was destroyed", "never awaited", "unclosed", "Warning:",
               "Task exception was never retrieved", "Exception ignored")
        return [f"{p.name}: {line}" for p in self.examples for line in p.lines("stderr")
                if any(b in line for b in bad)]

    def describe(self) -> str:
        return "".join(p.describe() for p in self.procs)

    def sanitizer_reports(self, marks=("ERROR: AddressSanitizer", "runtime error:")) -> list[str]:
        """AddressSanitizer / UndefinedBehaviorSanitizer errors in the services' stderr."""
        return [f"{p.name}: {line}" for p in self.procs if p not in self.examples
                for line in p.lines("stderr") if any(m in line for m in marks)]

    def leak_reports(self) -> list[str]:
        """LeakSanitizer reports of the services at exit, with the first frame of ours in each."""
        out = []
        for p in self.procs:
            if p in self.examples:
                continue
            lines = p.lines("stderr")
            for i, line in enumerate(lines):
                if "leak of" in line:
                    frame = next((f.split(" in ", 1)[1].strip() for f in lines[i + 1:i + 40] if " in emwin::" in f),
                                 "?")
                    kind = line.strip().split(" of ")[0]  # "Direct leak" / "Indirect leak"
                    out.append(f"{p.name.split('-')[0]}: {kind} from {frame.split('(')[0]} "
                               f"({frame.rsplit(' ', 1)[-1]})")
        return out

    def close(self) -> None:
        for p in self.procs:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in self.procs:
            try:
                p.p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            p.close()
