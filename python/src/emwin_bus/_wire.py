"""Wire helpers shared by the tap and pipeline receivers: topics and the Header of any payload.

Pure functions, no I/O; safe from any thread.
"""
from __future__ import annotations

from typing import Iterable

from ._schema import header_pb2


def topic_family(topic: str) -> str:
    """The family of a topic: the text up to and including its first '.' ("seg.TXT.A.TXT" -> "seg.")."""
    dot = topic.find(".")
    return topic if dot < 0 else topic[:dot + 1]


def topic_matches(topic: str, prefixes: Iterable[str]) -> bool:
    """True if `topic` starts with one of `prefixes` (or there are none)."""
    prefixes = tuple(prefixes)
    return not prefixes or topic.startswith(prefixes)


def header_bytes(payload: bytes) -> bytes:
    """Bytes of field 1 (the Header) of any bus payload, without knowing its type.

    Raises ValueError on a malformed payload."""
    i, n = 0, len(payload)

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while i < n:
            b = payload[i]
            i += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7
            if shift > 63:
                break
        raise ValueError("truncated or oversized varint")

    while i < n:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            size = varint()
            if i + size > n:
                raise ValueError("length-delimited field runs past the payload")
            if field == 1:
                return payload[i:i + size]
            i += size
        else:
            raise ValueError(f"unsupported wire type {wire}")
    raise ValueError("payload has no header (field 1)")


def parse_header(payload: bytes) -> header_pb2.Header:
    """The Header of any bus payload. Raises ValueError if there is none or it does not parse."""
    header = header_pb2.Header()
    try:
        header.ParseFromString(header_bytes(payload))
    except ValueError:
        raise
    except Exception as e:  # google.protobuf.message.DecodeError
        raise ValueError(f"bad header: {e}") from e
    return header
