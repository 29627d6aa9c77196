"""The package installs offline with pip into a venv of Debian's python3 and runs from there;
its generated modules always match the .proto files it was built from."""
from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest

from harness import PYTHON, SOURCE_DIR, corpus, product_dir

PACKAGE = SOURCE_DIR / "python"
PROTO = SOURCE_DIR / "proto"


def clean_env(**extra) -> dict:
    """The environment without the test's in-tree PYTHONPATH (an installed package must stand alone)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EMWIN_PROTO_DIR")}
    env.update(extra)
    return env


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=180, **kw)


def make_venv(path: pathlib.Path) -> pathlib.Path:
    # --system-site-packages: Debian's python3-zmq and python3-protobuf (and pip) are seen;
    # Debian's own python is "externally managed" (PEP 668), a venv is not.
    r = run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", path])
    assert r.returncode == 0, r.stderr
    return path / "bin" / "python"


def pip_install(python: pathlib.Path, source: pathlib.Path, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    # No package index here: --no-index proves nothing is fetched (the build backend is in-tree).
    return run([python, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
                source], cwd=cwd, env=clean_env(PIP_NO_INPUT="1"))


def digest(proto_dir: pathlib.Path) -> str:
    h = hashlib.sha256()
    for p in sorted((proto_dir / "emwin/bus/v1").glob("*.proto")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("venv")
    python = make_venv(tmp / "venv")
    before = sorted(p for p in PACKAGE.rglob("*") if "__pycache__" not in p.parts)
    r = pip_install(python, PACKAGE, tmp)
    assert r.returncode == 0, r.stdout + r.stderr
    # The build wrote nothing into the source tree.
    assert sorted(p for p in PACKAGE.rglob("*") if "__pycache__" not in p.parts) == before
    return python


def test_offline_install_imports_from_the_venv_with_current_generated_modules(venv):
    code = ("import emwin_bus, emwin.bus.v1 as v1, google.protobuf, zmq; "
            "print(emwin_bus.__file__); print(v1.__file__); print(emwin_bus.SCHEMA_SHA256); "
            "print(emwin_bus.__version__)")
    r = run([venv, "-c", code], cwd="/", env=clean_env())
    assert r.returncode == 0, r.stderr
    pkg, gen, schema, version = r.stdout.split()
    prefix = str(venv.parent.parent)
    assert pkg.startswith(prefix) and gen.startswith(prefix)  # the installed copies, not the checkout
    assert schema == digest(PROTO)
    assert f'version = "{version}"' in (PACKAGE / "pyproject.toml").read_text()
    # The centroid table for distance filters ships with the package.
    r = run([venv, "-c", "from emwin_bus import geo; print(len(geo.load_centroids()), geo.default_table_path())"],
            cwd="/", env=clean_env())
    assert r.returncode == 0, r.stderr
    n, path = r.stdout.split()
    assert int(n) > 7000 and path.startswith(str(venv.parent.parent))


def test_the_installed_package_runs_an_example_against_a_real_pipeline(venv, pipeline_factory, tmp_path):
    files = corpus("tornado_warning", exclude={"TORILX.txt"})[:5]
    p = pipeline_factory(product_dir(tmp_path, "five", files), file_consumers=1)
    p.start_consumers()
    out = tmp_path / "saved"
    ex = p.example("file_stream.py", "--out", str(out), "--count", "5", "--timeout", "60", python=str(venv),
                   env={"PYTHONPATH": ""})
    p.start_feed()
    assert ex.wait(60) == 0, ex.describe()
    assert {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()} == p.sent()


def copy_checkout(tmp: pathlib.Path) -> pathlib.Path:
    """python/ and proto/ of the checkout, side by side, as in the repository."""
    root = tmp / "checkout"
    shutil.copytree(PACKAGE, root / "python", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROTO, root / "proto")
    return root


ADDED_FIELD = "  // added by test_install\n  string test_install_marker = 99;\n}\n"


def add_header_field(proto_dir: pathlib.Path) -> None:
    header = proto_dir / "emwin/bus/v1/header.proto"
    text = header.read_text()
    assert text.rstrip().endswith("}")
    header.write_text(text.rstrip()[:-1] + ADDED_FIELD)


def test_a_changed_proto_is_in_the_next_install(tmp_path):
    root = copy_checkout(tmp_path)
    add_header_field(root / "proto")
    python = make_venv(tmp_path / "venv")
    r = pip_install(python, root / "python", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    code = ("from emwin.bus.v1 import header_pb2; import emwin_bus; "
            "print('test_install_marker' in header_pb2.Header.DESCRIPTOR.fields_by_name, emwin_bus.SCHEMA_SHA256)")
    r = run([python, "-c", code], cwd="/", env=clean_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", digest(root / "proto")]


def test_stale_generated_modules_are_refused_in_a_checkout(tmp_path):
    root = copy_checkout(tmp_path)
    gen = tmp_path / "gen"
    build = [PYTHON, root / "python/_build/emwin_bus_build.py", "generate", "--proto-dir", root / "proto",
             "--out", gen]
    r = run(build, env=clean_env())
    assert r.returncode == 0, r.stderr
    env = clean_env(PYTHONPATH=f"{gen}:{root / 'python/src'}", PYTHONDONTWRITEBYTECODE="1")
    ok = run([PYTHON, "-c", "import emwin_bus; print(emwin_bus.SCHEMA_SHA256)"], cwd="/", env=env)
    assert ok.returncode == 0 and ok.stdout.strip() == digest(root / "proto"), ok.stderr
    # The schema changes; the modules generated before do not: importing refuses them.
    add_header_field(root / "proto")
    stale = run([PYTHON, "-c", "import emwin_bus"], cwd="/", env=env)
    assert stale.returncode != 0
    assert "stale" in stale.stderr and "emwin_python_gen" in stale.stderr
    # Regenerating (what the CMake target does when a .proto changes) fixes it, and the
    # swap leaves no module of the old schema behind.
    (gen / "emwin/bus/v1/left_over_pb2.py").write_text("")
    assert run(build, env=clean_env()).returncode == 0
    assert not (gen / "emwin/bus/v1/left_over_pb2.py").exists()
    assert run([PYTHON, "-c", "import emwin_bus"], cwd="/", env=env).returncode == 0


def test_an_sdist_builds_and_installs_without_the_checkout(tmp_path):
    # The backend's own sdist hook: the archive carries the .proto files and the UGC table.
    sys.path.insert(0, str(PACKAGE / "_build"))
    try:
        import emwin_bus_build
        name = emwin_bus_build.build_sdist(str(tmp_path))
    finally:
        sys.path.remove(str(PACKAGE / "_build"))
    with tarfile.open(tmp_path / name) as tar:
        members = tar.getnames()
        tar.extractall(tmp_path / "unpacked")
    base = name[:-len(".tar.gz")]
    assert f"{base}/proto/emwin/bus/v1/header.proto" in members
    assert f"{base}/_build/emwin_bus_build.py" in members
    assert not any("__pycache__" in m for m in members)
    python = make_venv(tmp_path / "venv")
    r = pip_install(python, tmp_path / "unpacked" / base, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run([python, "-c", "import emwin_bus; print(emwin_bus.SCHEMA_SHA256)"], cwd="/", env=clean_env())
    assert r.returncode == 0 and r.stdout.strip() == digest(PROTO), r.stderr


def test_the_wheel_records_every_file_with_its_hash(tmp_path):
    import base64
    import zipfile
    sys.path.insert(0, str(PACKAGE / "_build"))
    try:
        import emwin_bus_build
        name = emwin_bus_build.build_wheel(str(tmp_path))
    finally:
        sys.path.remove(str(PACKAGE / "_build"))
    assert name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(tmp_path / name) as whl:
        names = set(whl.namelist())
        record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
        rows = [line.split(",") for line in whl.read(record_name).decode().splitlines()]
        listed = {r[0] for r in rows}
        assert listed == names  # every file, RECORD included
        for path, hash_, size in rows:
            if path == record_name:
                assert hash_ == size == ""
                continue
            data = whl.read(path)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (hash_, int(size)) == (f"sha256={want}", len(data)), path
        assert {"emwin/bus/v1/__init__.py", "emwin/bus/v1/alert_pb2.py", "emwin_bus/__init__.py"} <= names
        assert not any("__pycache__" in n for n in names)
        metadata = whl.read(record_name.replace("RECORD", "METADATA")).decode()
        assert "Requires-Dist: pyzmq" in metadata and "Requires-Dist: protobuf" in metadata
