"""Socket-level halves of a stream: the tap (SUB) and pipeline (DEALER) protocols.

A session owns one zmq.asyncio socket and turns received frames into `Received`
records (or None for what it drops: duplicates, bad payloads, other topics),
keeping the counters in a StreamStats. The pipeline session speaks the credit
protocol of proto/emwin/bus/v1/control.proto: HELLO on connect and as heartbeat,
batched CREDIT acknowledgements, REPLAY, BYE; it drops duplicates by sequence per
producer epoch (a replayed delivery only if that very sequence was received: the
group's floor also covers what was published before the group existed) and, when
the producer restarts (a new epoch after one it tracked), asks once for a REPLAY of
the new epoch from sequence 0, so what the restarted producer published before our
HELLO reached it is not lost.

Not thread-safe: a session is used from the event loop thread that created it.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import time
from typing import NamedTuple, Optional

import zmq
import zmq.asyncio

from ._schema import control_pb2, header_pb2
from ._wire import parse_header, topic_family, topic_matches

log = logging.getLogger("emwin_bus")

STATE_MAGIC = "emwin-bus-consumer-state-v1"  # same file format as the C++ bus::Subscriber
MAX_DEDUPE_ENTRIES = 1_000_000
# Sequences of the current epoch remembered to drop replayed duplicates: a REPLAY reaches
# back at most the producer's retention (20,000 messages or 8 MiB by default). Memory:
# at most 2 * SEEN_WINDOW integers.
SEEN_WINDOW = 1 << 15


@dataclasses.dataclass
class StreamStats:
    """Counters of one stream. Taken together they account for every message seen."""

    received: int = 0         # messages accepted into the stream's queue
    delivered: int = 0        # messages the consumer took from the queue
    filtered_out: int = 0     # received but not wanted (topic prefix, alert filter)
    skipped: int = 0          # another payload type, or not parsable as the expected one
    duplicates: int = 0       # sequences seen before (dropped; pipeline: acknowledged)
    stale: int = 0            # pipeline: deliveries of an older producer epoch (dropped)
    bad_payloads: int = 0     # frames without a parsable header / delivery record
    gaps: int = 0             # tap: jumps in the producer's sequence numbers
    missed: int = 0           # tap: messages lost upstream (sum of the jumps)
    overflow: int = 0         # tap: dropped because this stream's queue was full
    epochs_seen: int = 0      # producer restarts observed
    span: int = 0             # tap: messages the producer numbered since the first we saw
    replay_requests: int = 0  # pipeline: REPLAY commands sent
    replayed: int = 0         # pipeline: deliveries flagged replayed
    acks_sent: int = 0        # pipeline: sequences acknowledged
    held_s: float = 0.0       # pipeline: seconds our credit window was full (the producer could send us nothing)

    @property
    def lost(self) -> int:
        """Messages this stream knows it did not deliver: missed upstream plus queue overflow (tap)."""
        return self.missed + self.overflow


class Received(NamedTuple):
    """One message a session accepted."""

    topic: str
    payload: bytes
    header: header_pb2.Header
    sequence: int      # pipeline: the delivery sequence to acknowledge; tap: header.sequence
    epoch: int         # producer epoch the sequence belongs to
    replayed: bool


def _send_now(sock: zmq.asyncio.Socket, data: bytes) -> bool:
    """Sends without waiting; False if the socket would block. Never leaves a pending future."""
    fut = sock.send(data, flags=zmq.NOBLOCK)
    if not fut.done():  # cannot happen with NOBLOCK and no queued sends; be safe
        fut.cancel()
        return False
    if fut.cancelled():
        return False
    err = fut.exception()
    if err is None:
        return True
    if isinstance(err, zmq.Again):
        return False
    raise err


def apply_curve(sock: zmq.Socket, curve: Optional[tuple[str, str, str]]) -> None:
    """Makes `sock` a CURVE client of an authenticated bus (server public, own public, own secret)."""
    if curve is None:
        return
    server, public, secret = curve
    sock.setsockopt(zmq.CURVE_SERVERKEY, server.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public.encode())
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret.encode())


class TapSession:
    """SUB to one or more tap endpoints; counts gaps per producer (and topic family)."""

    mode = "tap"

    def __init__(self, ctx: zmq.asyncio.Context, endpoints: list[str], topics: list[str], receive_hwm: int,
                 stats: StreamStats, curve: Optional[tuple[str, str, str]] = None):
        self.stats = stats
        self.topics = list(topics)
        self.sock = ctx.socket(zmq.SUB)
        apply_curve(self.sock, curve)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, receive_hwm)
        # Filter at the producer by whole topic families (so e.g. "file." is not sent
        # segments), finer prefixes here: each family's topic_sequence then has no gaps
        # unless something was really dropped.
        families = {topic_family(t) for t in self.topics}
        if not families or "" in families:
            families = {""}
        self.by_family = "" not in families
        try:
            for family in sorted(families):
                self.sock.setsockopt(zmq.SUBSCRIBE, family.encode())
            for endpoint in endpoints:
                self.sock.connect(endpoint)
        except BaseException:
            self.sock.close(linger=0)
            raise
        self._tracks: dict[object, list[int]] = {}  # key -> [epoch, first, last]

    async def start(self) -> None:
        pass

    def process(self, frames: list[bytes]) -> Optional[Received]:
        st = self.stats
        if len(frames) != 2:
            st.bad_payloads += 1
            return None
        topic = frames[0].decode("utf-8", "replace")
        payload = frames[1]
        try:
            header = parse_header(payload)
        except ValueError as e:
            st.bad_payloads += 1
            log.debug("bad payload on %s: %s", topic, e)
            return None
        if self.by_family:
            key: object = (header.producer_id, topic_family(topic))
            seq = header.topic_sequence
        else:
            key, seq = header.producer_id, header.sequence
        if seq:
            track = self._tracks.get(key)
            if track is None:
                self._tracks[key] = [header.epoch, seq, seq]
                st.span += 1
            elif header.epoch != track[0]:
                if header.epoch < track[0]:
                    st.duplicates += 1  # a stale message of an older epoch
                    return None
                st.epochs_seen += 1
                if seq > 1:
                    st.gaps += 1
                    st.missed += seq - 1
                st.span += seq
                self._tracks[key] = [header.epoch, 1, seq]
            elif seq <= track[2]:
                st.duplicates += 1
                return None
            else:
                if seq > track[2] + 1:
                    st.gaps += 1
                    st.missed += seq - track[2] - 1
                st.span += seq - track[2]
                track[2] = seq
        if not topic_matches(topic, self.topics):
            st.filtered_out += 1
            return None
        return Received(topic, payload, header, header.sequence, header.epoch, False)

    def ack(self, epoch: int, sequence: int) -> None:
        """Tap messages need no acknowledgement."""

    def flush(self) -> None:
        pass

    def maintain(self) -> None:
        pass

    def close(self) -> None:
        if not self.sock.closed:
            self.sock.close(linger=0)


class PipelineSession:
    """DEALER consumer of one producer's pipeline endpoint, as one replica of `group`."""

    mode = "pipeline"

    def __init__(self, ctx: zmq.asyncio.Context, endpoint: str, group: str, replica: str, credit: int,
                 topics: list[str], stats: StreamStats, state_file: Optional[str] = None,
                 replay_retained: bool = False, curve: Optional[tuple[str, str, str]] = None):
        self.stats = stats
        self.group = group
        self.replica = replica
        self.credit = max(1, int(credit))
        self.topics = list(topics)
        self.state_file = state_file
        self.replay_retained = replay_retained
        self.sock = ctx.socket(zmq.DEALER)
        apply_curve(self.sock, curve)
        self.sock.setsockopt(zmq.RCVHWM, 0)   # bounded by the credit window
        self.sock.setsockopt(zmq.LINGER, 500)  # let BYE and the last acks leave on close
        try:
            self.sock.connect(endpoint)
        except BaseException:
            self.sock.close(linger=0)
            raise
        self.endpoint = endpoint
        self._ack_batch = max(1, self.credit // 8)
        self._pending: list[int] = []
        self._epoch = 0                 # producer epoch we track
        self._floor = 0                 # every sequence <= floor is done (group-wide)
        self._seen: set[int] = set()    # sequences received in this epoch (the last SEEN_WINDOW)
        self._max_seen = 0
        self._acked: set[int] = set()   # acknowledged sequences > floor
        self._replayed_epochs: set[int] = set()
        self._unacked = 0               # accepted and not yet acknowledged
        self._held_since: Optional[float] = None
        self._state_dirty = False
        self._next_state_write = 0.0
        self._closed = False

    # -- commands -------------------------------------------------------------

    def _command(self, kind: int, acks: bool = False, **fields) -> bytes:
        cmd = control_pb2.ConsumerCommand(kind=kind, group=self.group, replica=self.replica, **fields)
        if kind in (control_pb2.ConsumerCommand.KIND_HELLO, control_pb2.ConsumerCommand.KIND_REPLAY):
            cmd.credit = self.credit
            cmd.topic_prefixes.extend(self.topics)
        if acks:
            cmd.ack_sequences.extend(self._pending)
        return cmd.SerializeToString()

    def hello(self) -> None:
        """HELLO: joins the group; also the heartbeat. Carries pending acknowledgements."""
        n = len(self._pending)
        if _send_now(self.sock, self._command(control_pb2.ConsumerCommand.KIND_HELLO, acks=True)):
            self.stats.acks_sent += n
            self._pending.clear()

    def flush(self) -> None:
        """Sends batched acknowledgements now (kept for the next try if the socket is full)."""
        if not self._pending or self._closed:
            return
        n = len(self._pending)
        if _send_now(self.sock, self._command(control_pb2.ConsumerCommand.KIND_CREDIT, acks=True)):
            self.stats.acks_sent += n
            self._pending.clear()

    def replay(self, epoch: int, after_sequence: int) -> None:
        """Asks the producer for its retained messages after `after_sequence` of `epoch`."""
        cmd = self._command(control_pb2.ConsumerCommand.KIND_REPLAY, epoch=epoch,
                            replay_after_sequence=after_sequence)
        if _send_now(self.sock, cmd):
            self.stats.replay_requests += 1
            log.info("pipeline %s/%s: replay requested after %d:%d", self.group, self.replica, epoch, after_sequence)

    async def start(self) -> None:
        self.hello()
        if self.state_file and self._load_state():
            self.replay(self._epoch, self._floor)
        elif self.replay_retained:
            self.replay(0, 0)  # an epoch that is not the producer's current one: everything retained

    def maintain(self) -> None:
        """Heartbeat tick: HELLO (with acks) and the state file when it changed."""
        if self._closed:
            return
        self.hello()
        if self._state_dirty and time.monotonic() >= self._next_state_write:
            self._write_state()

    # -- deliveries -----------------------------------------------------------

    def _reset(self, epoch: int) -> None:
        self._epoch = epoch
        self._floor = 0
        self._seen.clear()
        self._max_seen = 0
        self._acked.clear()

    def _advance_floor(self, to: int) -> None:
        if to <= self._floor:
            return
        self._floor = to
        self._acked = {s for s in self._acked if s > to}

    def _remember(self, seq: int) -> None:
        self._seen.add(seq)
        self._max_seen = max(self._max_seen, seq)
        if len(self._seen) > 2 * SEEN_WINDOW:
            low = self._max_seen - SEEN_WINDOW
            self._seen = {s for s in self._seen if s > low}

    def _queue_ack(self, seq: int) -> None:
        self._pending.append(seq)
        if len(self._pending) >= self._ack_batch:
            self.flush()

    def _track_window(self) -> None:
        now = time.monotonic()
        if self._unacked >= self.credit:
            if self._held_since is None:
                self._held_since = now
        elif self._held_since is not None:
            self.stats.held_s += now - self._held_since
            self._held_since = None

    def process(self, frames: list[bytes]) -> Optional[Received]:
        st = self.stats
        if len(frames) != 3:
            st.bad_payloads += 1  # not our protocol: cannot even acknowledge it
            return None
        try:
            delivery = control_pb2.Delivery.FromString(frames[2])
        except Exception:
            st.bad_payloads += 1
            return None
        seq = delivery.sequence
        topic = frames[0].decode("utf-8", "replace")
        if delivery.replayed:
            st.replayed += 1
        try:
            header = parse_header(frames[1])
        except ValueError as e:
            st.bad_payloads += 1
            log.debug("bad payload on %s: %s", topic, e)
            self._queue_ack(seq)
            return None
        if header.epoch != self._epoch:
            if self._epoch and header.epoch < self._epoch:
                # From a producer process that is gone: its sequence numbers mean other
                # messages now, so it is neither used nor acknowledged.
                st.stale += 1
                return None
            if self._epoch:
                st.epochs_seen += 1
                # Acknowledgements of the old epoch mean nothing to the new producer.
                self._pending.clear()
                self._unacked = 0
                log.info("pipeline %s: producer restarted (epoch %d -> %d)", self.endpoint, self._epoch,
                         header.epoch)
                if header.epoch not in self._replayed_epochs:
                    # What it published before our HELLO reached it was not routed to us.
                    self._replayed_epochs.add(header.epoch)
                    self.replay(header.epoch, 0)
            self._reset(header.epoch)
            self._state_dirty = True
        self._advance_floor(delivery.group_acked_through)
        # A replayed delivery is a duplicate only if we received that very sequence: the
        # group's floor (group_acked_through) also covers what the producer published
        # before our group existed, which is exactly what a REPLAY of a new epoch brings.
        if seq in self._seen or (seq <= self._floor and not delivery.replayed):
            st.duplicates += 1
            self._queue_ack(seq)
            return None
        self._remember(seq)
        if not topic_matches(topic, self.topics):
            st.filtered_out += 1
            self._queue_ack(seq)
            return None
        self._unacked += 1
        self._track_window()
        return Received(topic, frames[1], header, seq, header.epoch, delivery.replayed)

    def ack(self, epoch: int, sequence: int) -> None:
        """The message was handled: frees its credit (batched; see flush)."""
        if self._closed or epoch != self._epoch or not sequence:
            return  # an older epoch's message: its producer is gone
        if sequence > self._floor:
            self._acked.add(sequence)
            self._state_dirty = True
        self._unacked = max(0, self._unacked - 1)
        self._track_window()
        self._queue_ack(sequence)

    # -- state file (same format as the C++ subscriber) ---------------------

    def _write_state(self) -> None:
        self._state_dirty = False
        self._next_state_write = time.monotonic() + 0.2
        if not self.state_file or not self._epoch:
            return
        tmp = self.state_file + ".tmp"
        try:
            acked = sorted(self._acked)
            with open(tmp, "w", encoding="ascii") as f:
                f.write(f"{STATE_MAGIC} {self._epoch} {self._floor} {len(acked)}")
                for s in acked:
                    f.write(f" {s}")
                f.write("\n")
            os.replace(tmp, self.state_file)
        except OSError as e:
            log.warning("cannot write state file %s: %s", self.state_file, e)

    def _load_state(self) -> bool:
        try:
            words = pathlib.Path(self.state_file).read_text(encoding="ascii").split()
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError) as e:
            log.warning("ignoring unreadable state file %s: %s", self.state_file, e)
            return False
        try:
            if len(words) < 4 or words[0] != STATE_MAGIC:
                raise ValueError("bad header")
            epoch, floor, n = int(words[1]), int(words[2]), int(words[3])
            acked = [int(w) for w in words[4:4 + min(n, MAX_DEDUPE_ENTRIES)]]
        except ValueError:
            log.warning("ignoring unreadable state file %s", self.state_file)
            return False
        if epoch <= 0:
            return False
        self._reset(epoch)
        self._floor = floor
        self._acked = {s for s in acked if s > floor}
        for s in self._acked:
            self._remember(s)
        return True

    def close(self) -> None:
        """Flushes acknowledgements, says BYE (unacknowledged messages go to other replicas
        or back to the group's queue), writes the state file and closes the socket."""
        if self._closed:
            return
        if self._held_since is not None:
            self.stats.held_s += time.monotonic() - self._held_since
            self._held_since = None
        try:
            if not self.sock.closed:
                self.flush()
                _send_now(self.sock, self._command(control_pb2.ConsumerCommand.KIND_BYE))
        except zmq.ZMQError as e:
            log.debug("pipeline %s: BYE not sent: %s", self.endpoint, e)
        finally:
            self._closed = True
            self._write_state()
            if not self.sock.closed:
                self.sock.close()
