"""What the streams yield: thin wrappers over the bus's protobuf messages.

Every protobuf field is an attribute (`completed_file.filename`, `.data`, `.sha256`,
`segment.block_number`, `alert.event_name`, ... and any field added to the schema
later), plus what the bus knows about the delivery (`topic`, `header`, `replayed`)
and a few conveniences (`fd_time`, `tier_name`). `.message` is the protobuf message.
Immutable by convention; safe to pass between tasks.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from ._schema import alert_pb2, file_pb2, segment_pb2, server_list_pb2, stats_pb2


def _utc(seconds: int) -> _dt.datetime | None:
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc) if seconds else None


class BusMessage:
    """A message received from the bus: protobuf fields as attributes, plus delivery facts."""

    #: protobuf class of the payload (set by subclasses)
    PROTO: Any = None

    def __init__(self, message: Any, topic: str = "", replayed: bool = False):
        self.message = message      # the protobuf message
        self.topic = topic          # e.g. "file.TXT.TORDMXIA.TXT"
        self.replayed = replayed    # pipeline: delivered in answer to a REPLAY
        self._ack_token = None      # (epoch, sequence) until acknowledged (set by the stream)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally: the protobuf fields.
        if name.startswith("_") or name == "message":
            raise AttributeError(name)
        return getattr(self.message, name)

    @property
    def header(self) -> Any:
        """emwin.bus.v1.Header: producer_id, epoch, sequence, produced_unix_us, payload_type."""
        return self.message.header

    def __repr__(self) -> str:
        name = getattr(self.message, "filename", "") or self.topic
        return f"<{type(self).__name__} {name} #{self.message.header.sequence}>"


class CompletedFile(BusMessage):
    """One whole product (emwin.bus.v1.CompletedFile): `.filename`, `.data`, and what the bus adds:
    `.fd_time` (the transmission's /FD stamp), `.sha256`, `.size_bytes`, `.block_count`, `.source`,
    `.origin`/`.archive` (entries unpacked from ZIP archives). Its alerts come from
    stream_alerts(), linked by `alert.file_sha256 == completed_file.sha256`."""

    PROTO = file_pb2.CompletedFile

    def __init__(self, message: Any, topic: str = "", replayed: bool = False):
        super().__init__(message, topic, replayed)
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        """The product's bytes (text trimmed of NUL padding, binaries to their real end)."""
        if self._data is None:
            self._data = self.message.data
        return self._data

    @property
    def fd_time(self) -> _dt.datetime | None:
        """The /FD stamp of the transmission (UTC), or None if unknown."""
        return _utc(self.message.fd_unix_s)

    def __iter__(self):
        """`filename, data = completed_file`, as with the ByteBlaster library's NamedTuple."""
        return iter((self.filename, self.data))

    def __getitem__(self, index: int):
        return (self.filename, self.data)[index]


class Segment(BusMessage):
    """One 1024-byte QBT block (emwin.bus.v1.Segment): `.filename`, `.block_number`,
    `.total_blocks`, `.data`, `.fd_time`, `.version` (1 or 2), `.source`; and the ByteBlaster
    library's QBTSegment names `.content`, `.checksum`, `.length`, `.timestamp`, `.received_at`.
    (`.header` is the bus Header, not the raw QBT header line.)"""

    PROTO = segment_pb2.Segment

    @property
    def fd_time(self) -> _dt.datetime | None:
        """The /FD stamp of the file this block belongs to (UTC)."""
        return _utc(self.message.fd_unix_s)

    # QBTSegment (ByteBlaster library) names
    @property
    def content(self) -> bytes:
        """The block's 1024 bytes (QBTSegment.content)."""
        return self.message.data

    @property
    def checksum(self) -> int:
        """The /CS value the server declared (QBTSegment.checksum)."""
        return self.message.declared_checksum

    @property
    def length(self) -> int:
        return len(self.message.data)

    @property
    def timestamp(self) -> _dt.datetime | None:
        """The file's /FD time (QBTSegment.timestamp)."""
        return self.fd_time

    @property
    def received_at(self) -> _dt.datetime | None:
        """When ingest decoded the block (QBTSegment.received_at)."""
        us = self.message.received_unix_us
        return _dt.datetime.fromtimestamp(us / 1e6, _dt.timezone.utc) if us else None


class Alert(BusMessage):
    """A structured alert (emwin.bus.v1.Alert): `.event_name`, `.phenomenon`, `.significance`,
    `.action`, `.office`, `.ugc`, `.polygon`, `.tier`, `.headline`, `.filename`, `.file_sha256`, ..."""

    PROTO = alert_pb2.Alert

    @property
    def tier_name(self) -> str:
        """"EMERGENCY", "WARNING", "WATCH", "ADVISORY", "STATEMENT", "ROUTINE" or "UNSPECIFIED"."""
        try:
            return alert_pb2.PriorityTier.Name(self.message.tier).removeprefix("PRIORITY_TIER_")
        except ValueError:
            return str(self.message.tier)

    @property
    def issued_time(self) -> _dt.datetime | None:
        return _utc(self.message.issued_unix_s)

    @property
    def expires_time(self) -> _dt.datetime | None:
        return _utc(self.message.expires_unix_s or self.message.end_unix_s)


class ServiceStats(BusMessage):
    """A service's counters (emwin.bus.v1.ServiceStats): `.service`, `.instance`, `.counters`, `.gauges`."""

    PROTO = stats_pb2.ServiceStats


class StatsSummary(BusMessage):
    """emwin-stats' aggregate (emwin.bus.v1.StatsSummary): `.services`, `.rates`, `.stale`."""

    PROTO = stats_pb2.StatsSummary


class ServerList(BusMessage):
    """A ByteBlaster server list seen by ingest (emwin.bus.v1.ServerList)."""

    PROTO = server_list_pb2.ServerList


#: payload_type -> wrapper class
BY_PAYLOAD_TYPE = {cls.PROTO.DESCRIPTOR.full_name: cls
                   for cls in (CompletedFile, Segment, Alert, ServiceStats, StatsSummary, ServerList)}
