"""Pure parts of the client: alert filter semantics, geometry, options, wire decoding,
message wrappers (no sockets)."""
from __future__ import annotations

import argparse
import math

import pytest

from emwin_bus import AlertFilter, BusClientOptions, CompletedFile, Alert, add_arguments, options_from_args
from emwin_bus import geo
from emwin_bus._wire import header_bytes, parse_header, topic_family, topic_matches
from emwin.bus.v1 import alert_pb2, file_pb2

# A real tornado warning's fields (corpus tornado_warning/TOROAX-0.txt:
# /O.NEW.KOAX.TO.W.0038.240426T2159Z-240426T2300Z/, IAC129-155, LAT...LON 4100 9578 4105 9585 4151 9568 4150 9541).
POLYGON = [(41.00, -95.78), (41.05, -95.85), (41.51, -95.68), (41.50, -95.41), (41.00, -95.78)]


def tornado(**over) -> alert_pb2.Alert:
    a = alert_pb2.Alert(awips_id="TOROAX", product_code="TOR", office="KOAX", wmo_cccc="KOAX",
                        phenomenon="TO", significance="W", action="NEW", tier=alert_pb2.PRIORITY_TIER_WARNING,
                        ugc=["IAC129", "IAC155"], event_name="Tornado Warning")
    for lat, lon in POLYGON:
        a.polygon.add(lat_deg=lat, lon_deg=lon)
    for k, v in over.items():
        if k == "polygon":
            del a.polygon[:]
        elif isinstance(v, list):
            del getattr(a, k)[:]
            getattr(a, k).extend(v)
        else:
            setattr(a, k, v)
    return a


@pytest.mark.parametrize("criteria, matches", [
    ({}, True),
    ({"topic": "alert.TO.W."}, True),
    ({"topic": "alert.SV."}, False),
    ({"product": "TOR"}, True),
    ({"product": "toroax"}, True),
    ({"product": "SVR,FFW"}, False),
    ({"office": "KOAX"}, True),
    ({"office": "oax"}, True),
    ({"office": "DMX"}, False),
    ({"state": "IA"}, True),
    ({"state": ["NE", "ia"]}, True),
    ({"state": "NE"}, False),
    ({"ugc": "IAC155"}, True),
    ({"ugc": "IAZ155"}, False),
    ({"phenomenon": "TO", "significance": "W"}, True),
    ({"phenomenon": "TO", "significance": "A"}, False),
    ({"action": "NEW,EXT"}, True),
    ({"action": "CAN"}, False),
    ({"min_tier": "WARNING"}, True),
    ({"min_tier": "emergency"}, False),
    ({"min_tier": 3}, True),
    ({"has_polygon": True}, True),
    ({"has_polygon": False}, False),
    ({"lat": 41.07, "lon": -95.79}, True),          # the storm (TIME...MOT...LOC 4107 9579): inside
    ({"lat": 41.3, "lon": -95.65}, True),
    ({"lat": 41.3, "lon": -95.5}, False),           # east of the polygon
    ({"lat": 41.6, "lon": -95.6}, False),           # north of it
    ({"phenomenon": "TO", "state": "NE"}, False),   # every criterion must hold
])
def test_alert_filter_criteria(criteria, matches):
    a = Alert(tornado(), topic="alert.TO.W.KOAX")
    assert AlertFilter(**criteria).matches(a) is matches
    assert AlertFilter(**criteria).matches(a.message) is matches or "topic" in criteria


def test_unspecified_tier_never_passes_a_minimum():
    assert not AlertFilter(min_tier="ROUTINE").matches(tornado(tier=alert_pb2.PRIORITY_TIER_UNSPECIFIED))


def test_distance_uses_ugc_centroids_when_the_point_is_outside_the_polygon(tmp_path):
    table = tmp_path / "ugc.csv"
    # (rows of the reference table ugc.csv)
    table.write_text("ugc,kind,name,latitude,longitude\nIAC155,county,Pottawattamie,41.3364,-95.5423\n"
                     "IAC000,county,Any County,0.0,0.0\nNEC055,county,Douglas,41.2953,-96.1544\n")
    a = tornado()
    near = dict(lat=41.3364, lon=-95.40, ugc_table=str(table))  # ~11.9 km east of Pottawattamie's centroid
    assert not AlertFilter(**near).matches(a)                    # outside the polygon, no distance given
    assert AlertFilter(distance_km=15, **near).matches(a)
    assert not AlertFilter(distance_km=10, **near).matches(a)
    no_polygon = tornado(polygon=[])
    assert AlertFilter(distance_km=15, **near).matches(no_polygon)
    # Douglas county NE is not listed: being at its centroid does not match.
    assert not AlertFilter(lat=41.2953, lon=-96.1544, distance_km=1, ugc_table=str(table)).matches(no_polygon)
    assert "IAC000" not in geo.load_centroids(table)              # placeholders are not places


def test_producer_prefixes():
    assert AlertFilter().producer_prefixes() == ["alert."]
    assert AlertFilter(phenomenon="TO,SV", significance="W").producer_prefixes() == ["alert.TO.W.", "alert.SV.W."]
    assert AlertFilter(phenomenon="TO").producer_prefixes() == ["alert.TO."]
    assert AlertFilter(topic="alert.FF.", phenomenon="TO").producer_prefixes() == ["alert.FF."]


@pytest.mark.parametrize("criteria, error", [
    ({"lat": 41.0}, "lat and lon go together"),
    ({"lat": 95.0, "lon": 0.0}, "lat must be"),
    ({"distance_km": -1}, "distance_km"),
    ({"min_tier": "SEVERE"}, "unknown priority tier"),
])
def test_alert_filter_rejects_bad_criteria(criteria, error):
    with pytest.raises(ValueError, match=error):
        AlertFilter(**criteria)


def test_geometry():
    square = [(0, 0), (0, 10), (10, 10), (10, 0)]
    assert geo.point_in_polygon(5, 5, square) and not geo.point_in_polygon(5, 15, square)
    u_shape = [(0, 0), (10, 0), (10, 10), (8, 10), (8, 2), (2, 2), (2, 10), (0, 10)]  # concave
    assert geo.point_in_polygon(1, 5, u_shape) and not geo.point_in_polygon(5, 5, u_shape)
    assert not geo.point_in_polygon(1, 1, [(0, 0), (2, 2)])
    # One degree of latitude is ~111.2 km; Omaha to Des Moines is ~190 km.
    assert math.isclose(geo.haversine_km(0, 0, 1, 0), 111.19, rel_tol=1e-3)
    assert 185 < geo.haversine_km(41.26, -95.94, 41.59, -93.62) < 200


def test_options_defaults_and_validation():
    o = BusClientOptions(host="bus.example")
    assert (o.files_pipe, o.segments_tap, o.alerts_pipe, o.stats_tap) == (
        "tcp://bus.example:5612", "tcp://bus.example:5601", "tcp://bus.example:5613", "tcp://bus.example:5604")
    assert o.endpoint("files", "tap") == "tcp://bus.example:5602"
    assert o.replica and o.mode == "pipeline"
    for bad in ({"mode": "fast"}, {"heartbeat_s": 3.0}, {"group": ""}):
        with pytest.raises(ValueError):
            BusClientOptions(**bad)
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args(["--host", "h", "--files-pipe", "tcp://x:1", "--mode", "tap", "--group", "g"])
    o = options_from_args(args)
    assert (o.files_pipe, o.files_tap, o.mode, o.group) == ("tcp://x:1", "tcp://h:5602", "tap", "g")


def test_topics():
    assert topic_family("seg.TXT.A.TXT") == "seg." and topic_family("stats") == "stats"
    assert topic_matches("alert.TO.W.KOAX", ["alert.SV.", "alert.TO."]) and topic_matches("x", [])
    assert not topic_matches("alert.TO.W.KOAX", ["alert.TO.A."])


def test_header_of_any_payload():
    f = file_pb2.CompletedFile(filename="A.TXT", data=b"\x00" * 3000)
    f.header.producer_id, f.header.sequence = "assembler.a", 42
    payload = f.SerializeToString()
    assert parse_header(payload).sequence == 42
    assert header_bytes(payload) == f.header.SerializeToString()


@pytest.mark.parametrize("payload, reason", [
    (b"", "no header"),
    (b"\xff\xff\xff", "varint"),
    (b"\x12\x05ab", "runs past"),               # field 2, 5 bytes announced, 2 present
    (b"\x0a\x20\x0a\x03abc", "runs past"),      # a truncated header
    (b"\x0f", "wire type"),
    (b"\x0a\x02\xff\xff", "bad header"),         # field 1 is there but is no Header
    (b"\x80" * 12, "varint"),                    # an oversized varint
])
def test_malformed_payloads_are_value_errors(payload, reason):
    with pytest.raises(ValueError, match=reason):
        parse_header(payload)


def test_message_wrappers_expose_every_field():
    f = file_pb2.CompletedFile(filename="TORDMXIA.TXT", data=b"abc", sha256="ab" * 32, fd_unix_s=1772551056)
    w = CompletedFile(f, topic="file.TXT.TORDMXIA.TXT")
    assert (w.filename, w.data, w.sha256, w.topic) == ("TORDMXIA.TXT", b"abc", "ab" * 32, "file.TXT.TORDMXIA.TXT")
    assert w.fd_time.isoformat() == "2026-03-03T15:17:36+00:00"
    assert w.block_count == 0 and not w.replayed  # any protobuf field, present or not
    with pytest.raises(AttributeError):
        w.no_such_field
    a = Alert(tornado())
    assert a.tier_name == "WARNING" and a.event_name == "Tornado Warning" and list(a.ugc) == ["IAC129", "IAC155"]


def test_byteblaster_names_on_the_wrappers():
    from emwin_bus import Segment
    from emwin.bus.v1 import segment_pb2
    seg = Segment(segment_pb2.Segment(filename="A.TXT", block_number=2, total_blocks=3, data=b"x" * 1024,
                                      declared_checksum=70000, fd_unix_s=1772551056, version=2,
                                      received_unix_us=1772551057_500000))
    assert (seg.content, seg.checksum, seg.length, seg.version) == (b"x" * 1024, 70000, 1024, 2)
    assert seg.timestamp.isoformat() == "2026-03-03T15:17:36+00:00"
    assert seg.received_at.isoformat() == "2026-03-03T15:17:37.500000+00:00"
    filename, data = CompletedFile(file_pb2.CompletedFile(filename="B.TXT", data=b"yz"))
    assert (filename, data) == ("B.TXT", b"yz")


def test_every_example_is_a_standalone_program_documented_in_docs_python_md():
    import subprocess
    from harness import EXAMPLES, PYTHON, SOURCE_DIR, python_env
    docs = (SOURCE_DIR / "docs" / "python.md").read_text()
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert len(scripts) == 10
    for script in scripts:
        assert f"`{script.name}`" in docs, script.name
        r = subprocess.run([PYTHON, str(script), "--help"], capture_output=True, text=True, timeout=30,
                           env=python_env())
        assert r.returncode == 0 and "--files-pipe" in r.stdout and "--timeout" in r.stdout, (script, r.stderr)
