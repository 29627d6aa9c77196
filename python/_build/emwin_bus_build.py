"""In-tree PEP 517 build backend of the emwin-bus Python package (stdlib only).

Why in-tree: pip's default build isolation would fetch setuptools from a package
index, and this project installs offline (`pip install ./python`, no index). The
backend needs nothing but the standard library and `protoc`.

What it builds: a pure-Python wheel (py3-none-any) holding
  * emwin_bus/            the client package, copied from src/;
  * emwin/bus/v1/*_pb2.py generated at every build by `protoc --python_out` from the
                          bus schema (proto/ in an sdist, else ../proto), so an
                          installed package never carries modules older than its
                          .proto files; emwin/bus/v1/__init__.py records
                          SCHEMA_SHA256, the digest of the .proto files used;
  * emwin_bus/data/ugc.csv the UGC centroid table, when the source tree has one
                          (../data/reference/ugc.csv, else ../../shared/data/ugc.csv).
Nothing is written into the source tree: work happens in temporary directories.

Also a command for the CMake build (in-tree use without installing):
    python3 emwin_bus_build.py generate --proto-dir ../proto --out build/python/gen
which writes the same emwin/bus/v1 modules (atomically replacing an older set).
The protoc used is $PROTOC, else $EMWIN_PROTOC, else `protoc` on PATH.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent  # the python/ directory (or an unpacked sdist)
SCHEMA_SUBDIR = pathlib.PurePosixPath("emwin/bus/v1")
WHEEL_TAG = "py3-none-any"
# A fixed timestamp makes wheels reproducible (zip needs >= 1980).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    """A build step failed; the message says which and how to fix it."""


# ---------------------------------------------------------------------------
# project metadata


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    project = data["project"]
    project["_packages"] = data.get("tool", {}).get("emwin-bus", {}).get("packages", ["emwin_bus"])
    return project


def _dist_name(project: dict) -> str:
    return project["name"].replace("-", "_")


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3')}",
    ]
    for dep in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    readme = ROOT / project.get("readme", "README.md")
    body = ""
    if readme.is_file():
        lines.append("Description-Content-Type: text/markdown")
        body = "\n" + readme.read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


# ---------------------------------------------------------------------------
# the bus schema


def proto_root() -> pathlib.Path:
    """Directory holding emwin/bus/v1/*.proto: proto/ of an sdist, else ../proto of the checkout."""
    for candidate in (ROOT / "proto", ROOT.parent / "proto"):
        if (candidate / SCHEMA_SUBDIR).is_dir():
            return candidate
    raise BuildError(f"no emwin/bus/v1/*.proto under {ROOT / 'proto'} or {ROOT.parent / 'proto'}")


def proto_files(root: pathlib.Path) -> list[pathlib.Path]:
    files = sorted((root / SCHEMA_SUBDIR).glob("*.proto"))
    if not files:
        raise BuildError(f"no .proto files in {root / SCHEMA_SUBDIR}")
    return files


def schema_digest(root: pathlib.Path) -> str:
    """SHA-256 over the schema's .proto files (names and bytes, sorted by name).

    emwin_bus._schema.schema_digest computes the same value; keep them identical."""
    h = hashlib.sha256()
    for path in proto_files(root):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _protoc() -> str:
    exe = os.environ.get("PROTOC") or os.environ.get("EMWIN_PROTOC") or shutil.which("protoc")
    if not exe:
        raise BuildError("protoc not found: install Debian's protobuf-compiler (or set PROTOC=/path/to/protoc)")
    return exe


def generate(root: pathlib.Path, out: pathlib.Path) -> list[pathlib.Path]:
    """Runs protoc into `out` (which must be empty or absent) and writes the package __init__.

    Returns the written files, relative to `out`."""
    files = proto_files(root)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [_protoc(), f"--python_out={out}", f"-I{root}"] + [str(p) for p in files]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"protoc failed ({' '.join(cmd)}):\n{result.stderr}")
    init = out / SCHEMA_SUBDIR / "__init__.py"
    names = ", ".join(repr(p.name) for p in files)
    init.write_text(
        '"""Protobuf modules of the emwin bus schema (emwin.bus.v1), generated by protoc at build time.\n\n'
        'Do not edit: rebuild instead. SCHEMA_SHA256 is the digest of the .proto files they came from."""\n'
        f'SCHEMA_SHA256 = "{schema_digest(root)}"\n'
        f"PROTO_FILES = ({names},)\n",
        encoding="utf-8",
    )
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    expected = {f"{p.stem}_pb2.py" for p in files}
    missing = expected - {p.name for p in written}
    if missing:
        raise BuildError(f"protoc did not write {sorted(missing)}")
    return written


# ---------------------------------------------------------------------------
# reference data shipped with the package


def ugc_table() -> pathlib.Path | None:
    """The UGC centroid table to ship, if the source tree has one."""
    for candidate in (ROOT / "data" / "ugc.csv",
                      ROOT.parent / "data" / "reference" / "ugc.csv",
                      ROOT.parent.parent / "shared" / "data" / "ugc.csv"):
        if candidate.is_file():
            return candidate
    return None


UGC_NOTICE = """UGC centroid table (ugc.csv): UGC code, kind (county/zone), name, latitude, longitude.
Facts converted from the data tables of the MIT-licensed emwin-rs project (crates/emwin-parser/data/),
which compiled them from NWS sources.

MIT License - Copyright (c) 2025 the emwin-rs authors. Permission is hereby granted, free of charge, to
any person obtaining a copy of this software and associated documentation files (the "Software"), to
deal in the Software without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom
the Software is furnished to do so, subject to the following conditions: The above copyright notice and
this permission notice shall be included in all copies or substantial portions of the Software. THE
SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


# ---------------------------------------------------------------------------
# wheel writing


class _Wheel:
    """Collects files and writes a wheel with a RECORD of hashes."""

    def __init__(self, path: pathlib.Path, dist_info: str):
        self.path = path
        self.dist_info = dist_info
        self.records: list[str] = []
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)

    def add(self, arcname: str, data: bytes) -> None:
        """Adds a file and records its hash and size."""
        self._write(arcname, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{arcname},sha256={digest},{len(data)}")

    def close(self) -> None:
        """Writes RECORD (which lists itself without a hash) and closes the archive."""
        record = f"{self.dist_info}/RECORD"
        self.records.append(f"{record},,")
        self._write(record, ("\n".join(self.records) + "\n").encode())
        self.zip.close()

    def _write(self, arcname: str, data: bytes) -> None:
        info = zipfile.ZipInfo(arcname, ZIP_DATE)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)


def _package_files(project: dict) -> list[tuple[str, pathlib.Path]]:
    """(arcname, path) of every source file of the packages (no caches)."""
    out = []
    src = ROOT / "src"
    for package in project["_packages"]:
        base = src / package
        if not base.is_dir():
            raise BuildError(f"package directory {base} is missing")
        for path in sorted(base.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            out.append((path.relative_to(src).as_posix(), path))
    return out


def _check_version(project: dict) -> None:
    init = (ROOT / "src" / "emwin_bus" / "__init__.py").read_text(encoding="utf-8")
    if f'__version__ = "{project["version"]}"' not in init:
        raise BuildError(f"src/emwin_bus/__init__.py must say __version__ = \"{project['version']}\" (pyproject.toml)")


def _write_dist_info(wheel: _Wheel, project: dict, top_level: list[str]) -> None:
    di = wheel.dist_info
    wheel.add(f"{di}/METADATA", _metadata(project).encode())
    wheel.add(f"{di}/WHEEL", (
        "Wheel-Version: 1.0\n"
        "Generator: emwin_bus_build\n"
        "Root-Is-Purelib: true\n"
        f"Tag: {WHEEL_TAG}\n").encode())
    wheel.add(f"{di}/top_level.txt", ("\n".join(top_level) + "\n").encode())


def _add_generated(wheel: _Wheel) -> None:
    with tempfile.TemporaryDirectory(prefix="emwin-bus-gen-") as tmp:
        out = pathlib.Path(tmp)
        for rel in generate(proto_root(), out):
            wheel.add(rel.as_posix(), (out / rel).read_bytes())


def _add_data(wheel: _Wheel) -> None:
    table = ugc_table()
    if table is not None:
        wheel.add("emwin_bus/data/ugc.csv", table.read_bytes())
        wheel.add("emwin_bus/data/NOTICE-ugc.txt", UGC_NOTICE.encode())


def _build(wheel_directory: str, editable: bool) -> str:
    project = _project()
    _check_version(project)
    name = _dist_name(project)
    version = project["version"]
    filename = f"{name}-{version}-{WHEEL_TAG}.whl"
    target = pathlib.Path(wheel_directory) / filename
    tmp_target = target.with_suffix(".tmp")
    wheel = _Wheel(tmp_target, f"{name}-{version}.dist-info")
    try:
        if editable:
            # The package is imported from src/ (edits apply at once); the generated
            # modules are a snapshot: emwin_bus refuses to import them once the
            # checkout's .proto files differ (reinstall to regenerate).
            wheel.add(f"__editable__.{name}.pth", (str(ROOT / "src") + "\n").encode())
        else:
            for arcname, path in _package_files(project):
                wheel.add(arcname, path.read_bytes())
            _add_data(wheel)
        _add_generated(wheel)
        _write_dist_info(wheel, project, ["emwin", *project["_packages"]])
        wheel.close()
    except BaseException:
        wheel.zip.close()
        tmp_target.unlink(missing_ok=True)
        raise
    os.replace(tmp_target, target)
    return filename


# ---------------------------------------------------------------------------
# PEP 517 / PEP 660 hooks


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _prepare_metadata(metadata_directory: str) -> str:
    project = _project()
    di = f"{_dist_name(project)}-{project['version']}.dist-info"
    path = pathlib.Path(metadata_directory) / di
    path.mkdir(parents=True, exist_ok=True)
    (path / "METADATA").write_text(_metadata(project), encoding="utf-8")
    return di


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _prepare_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    """A source archive that builds on its own: the .proto files and the UGC table are copied in."""
    project = _project()
    _check_version(project)
    base = f"{_dist_name(project)}-{project['version']}"
    target = pathlib.Path(sdist_directory) / f"{base}.tar.gz"
    members: list[tuple[str, bytes]] = []
    for rel in ("pyproject.toml", "README.md", "_build/emwin_bus_build.py"):
        if (ROOT / rel).is_file():
            members.append((rel, (ROOT / rel).read_bytes()))
    for arcname, path in _package_files(project):
        members.append((f"src/{arcname}", path.read_bytes()))
    root = proto_root()
    for path in proto_files(root):
        members.append((f"proto/{SCHEMA_SUBDIR}/{path.name}", path.read_bytes()))
    table = ugc_table()
    if table is not None:
        members.append(("data/ugc.csv", table.read_bytes()))
    members.append(("PKG-INFO", _metadata(project).encode()))
    with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel, data in members:
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 315532800
            tar.addfile(info, io.BytesIO(data))
    return target.name


# ---------------------------------------------------------------------------
# command line (used by CMake for in-tree modules)


def _generate_command(args: argparse.Namespace) -> int:
    out = pathlib.Path(args.out).resolve()
    root = pathlib.Path(args.proto_dir).resolve() if args.proto_dir else proto_root()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Generate beside the target and swap it in, so a reader never sees a half-written set
    # and no module of an older schema survives (a removed .proto leaves no _pb2 behind).
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".gen-", dir=out.parent))
    try:
        generate(root, tmp)
        old = None
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if args.stamp:
        pathlib.Path(args.stamp).write_text(schema_digest(root) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="emwin-bus Python build helper")
    sub = ap.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate emwin/bus/v1/*_pb2.py into a directory")
    gen.add_argument("--proto-dir", help="directory holding emwin/bus/v1/*.proto (default: the checkout's proto/)")
    gen.add_argument("--out", required=True, help="output directory (replaced)")
    gen.add_argument("--stamp", help="file to write the schema digest to when done")
    args = ap.parse_args(argv)
    try:
        return _generate_command(args)
    except BuildError as e:
        print(f"emwin_bus_build: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
