#!/usr/bin/env python3
"""Example emwin-bus subscriber in Python: prints one line per message.

Needs only the .proto files and Debian's python3-zmq and python3-protobuf:

    python3 subscriber.py --connect tcp://127.0.0.1:5603 --topic alert.TO. [--count N] [--timeout S] [--json]

Python modules for the bus schema come from `protoc --python_out`: from --gen DIR
(or $EMWIN_PY_GEN) if given, else they are generated once into a cache directory
($XDG_CACHE_HOME or ~/.cache)/emwin-bus/py-gen-<hash of the .proto files>.
Gaps in each producer's Header.sequence are counted and reported on exit
(stderr). Nothing is generated or connected at import time.
"""
import argparse, hashlib, os, pathlib, signal, subprocess, sys, tempfile, time

DEFAULT_PROTO = pathlib.Path(__file__).resolve().parents[3] / "proto"


def generated_dir(args):
    """Directory holding emwin/bus/v1/*_pb2.py, generating it if needed."""
    if args.gen:
        return pathlib.Path(args.gen)
    protos = sorted((pathlib.Path(args.proto_dir) / "emwin/bus/v1").glob("*.proto"))
    if not protos:
        sys.exit(f"subscriber: no .proto files under {args.proto_dir}")
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in protos)).hexdigest()[:16]
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "emwin-bus"
    out = cache / f"py-gen-{digest}"
    if not (out / "emwin/bus/v1/header_pb2.py").exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(dir=cache, prefix="tmp-"))
        cmd = [args.protoc, f"--python_out={tmp}", f"-I{args.proto_dir}"] + [str(p) for p in protos]
        if subprocess.run(cmd).returncode != 0:
            sys.exit(f"subscriber: protoc failed: {' '.join(cmd)}")
        try:
            tmp.rename(out)  # atomic; a concurrent run may have won the race
        except OSError:
            pass
    return out


def read_header_bytes(payload):
    """Bytes of field 1 (the Header) of any bus payload, without knowing its type."""
    i, n = 0, len(payload)
    def varint():
        nonlocal i
        shift = value = 0
        while i < n:
            b = payload[i]; i += 1
            value |= (b & 0x7F) << shift; shift += 7
            if b < 0x80:
                return value
        raise ValueError("truncated varint")
    while i < n:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0: varint()
        elif wire == 1: i += 8
        elif wire == 5: i += 4
        elif wire == 2:
            size = varint()
            if field == 1:
                return payload[i:i + size]
            i += size
        else:
            raise ValueError(f"wire type {wire}")
    return b""


def describe(msg, type_name, pb):
    if type_name == "emwin.bus.v1.Alert":
        return (f'Alert event="{msg.event_name}" action={msg.action or "-"} office={msg.office} '
                f'tier={pb["alert"].PriorityTier.Name(msg.tier).replace("PRIORITY_TIER_", "")} '
                f'ugc={len(msg.ugc)} vtec={msg.vtec or "-"} file={msg.filename}')
    if type_name == "emwin.bus.v1.CompletedFile":
        return f"CompletedFile name={msg.filename} size={msg.size_bytes} sha256={msg.sha256}"
    if type_name == "emwin.bus.v1.ServiceStats":
        counters = " ".join(f"{k}={v}" for k, v in sorted(msg.counters.items())[:6])
        return f"ServiceStats service={msg.service} instance={msg.instance} {counters}"
    return type_name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", action="append", required=True, help="tap endpoint (repeatable)")
    ap.add_argument("--topic", action="append", default=[], help="topic prefix to print (repeatable; default all)")
    ap.add_argument("--count", type=int, default=0, help="exit after printing N messages")
    ap.add_argument("--timeout", type=float, default=0, help="exit after S seconds (status 1 if --count not reached)")
    ap.add_argument("--json", action="store_true", help="print messages as JSON (CompletedFile data left out)")
    ap.add_argument("--gen", default=os.environ.get("EMWIN_PY_GEN"), help="dir with generated *_pb2 modules")
    ap.add_argument("--proto-dir", default=str(DEFAULT_PROTO), help="dir holding emwin/bus/v1/*.proto")
    ap.add_argument("--protoc", default=os.environ.get("EMWIN_PROTOC", "protoc"))
    ap.add_argument("--server-filter", action="store_true",
                    help="let the producer filter by topic family (less traffic); gaps are then counted per "
                         "family from Header.topic_sequence")
    args = ap.parse_args()

    sys.path.insert(0, str(generated_dir(args)))
    import zmq
    from google.protobuf import json_format
    from emwin.bus.v1 import alert_pb2, file_pb2, header_pb2, segment_pb2, server_list_pb2, stats_pb2
    pb = {"alert": alert_pb2}
    types = {m.DESCRIPTOR.full_name: m for m in (alert_pb2.Alert, file_pb2.CompletedFile, segment_pb2.Segment,
                                                server_list_pb2.ServerList, stats_pb2.ServiceStats, stats_pb2.StatsSummary)}

    sock = zmq.Context.instance().socket(zmq.SUB)
    # A family is the topic up to and including its first '.' ("seg.", "file.", "alert.", "stats.");
    # subscribing whole families keeps Header.topic_sequence gap-free for what we receive.
    def family(topic):
        dot = topic.find(".")
        return topic if dot < 0 else topic[:dot + 1]
    by_family = bool(args.server_filter and args.topic and "" not in args.topic)
    for prefix in (sorted({family(t) for t in args.topic}) if by_family else [""]):
        sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    for endpoint in args.connect:
        sock.connect(endpoint)
    print(f"connected to {' '.join(args.connect)}, topics {args.topic or ['(all)']}", file=sys.stderr, flush=True)

    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    producers = {}  # producer_id -> [epoch, last sequence, received, gaps, missed]
    printed, status = 0, 0
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    while not stop:
        if deadline and time.monotonic() >= deadline:
            status = 1 if args.count and printed < args.count else 0
            break
        if not sock.poll(100):
            continue
        frames = sock.recv_multipart()
        if len(frames) != 2:
            continue
        topic, payload = frames[0].decode(errors="replace"), frames[1]
        header = header_pb2.Header()
        try:
            header.ParseFromString(read_header_bytes(payload))
        except Exception:
            print(f"bad payload on {topic}", file=sys.stderr)
            continue
        key, seq = header.producer_id, header.sequence
        if by_family:
            key, seq = f"{header.producer_id} {family(topic)}", header.topic_sequence
        p = producers.get(key)
        if p is None:
            print(f"receiving from {key} (first sequence {seq})", file=sys.stderr, flush=True)
            p = producers[key] = [header.epoch, seq, 0, 0, 0]
        elif p[0] != header.epoch:  # producer restarted: its sequence starts again
            p[0], p[1] = header.epoch, seq
        elif seq > p[1] + 1:
            p[3] += 1
            p[4] += seq - p[1] - 1
        p[1] = max(p[1], seq)
        p[2] += 1
        if args.topic and not any(topic.startswith(t) for t in args.topic):
            continue
        cls = types.get(header.payload_type)
        msg = cls() if cls else None
        try:
            if msg is not None:
                msg.ParseFromString(payload)
        except Exception:
            print(f"cannot parse {header.payload_type} on {topic}", file=sys.stderr)
            continue
        if args.json:
            if isinstance(msg, file_pb2.CompletedFile):
                msg.ClearField("data")
            body = json_format.MessageToJson(msg, indent=None) if msg is not None else "null"
            print(f'{{"topic": "{topic}", "message": {body}}}', flush=True)
        else:
            print(f"{topic} {header.producer_id}#{header.sequence} {describe(msg, header.payload_type, pb)}",
                  flush=True)
        printed += 1
        if args.count and printed >= args.count:
            break
    for pid, (epoch, last, received, gaps, missed) in sorted(producers.items()):
        print(f"gaps producer={pid} epoch={epoch} received={received} gaps={gaps} missed={missed}", file=sys.stderr)
    sock.close(linger=0)
    return status


if __name__ == "__main__":
    sys.exit(main())
