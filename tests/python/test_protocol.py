"""The client's side of the bus protocol, against a scripted producer in the test's loop:
pipeline credit protocol (HELLO/heartbeat, acks only for handled messages, duplicates,
a producer restart's REPLAY, stale epochs, BYE, state file), tap gap counting and
overflow, cancellation and stop(), handler error isolation. (The examples' tests run the
same code against the real services.)"""
from __future__ import annotations

import asyncio

import pytest
import zmq
import zmq.asyncio

from emwin_bus import BusClientOptions, BusFileManager
from emwin.bus.v1 import control_pb2, file_pb2

HELLO = control_pb2.ConsumerCommand.KIND_HELLO
CREDIT = control_pb2.ConsumerCommand.KIND_CREDIT
REPLAY = control_pb2.ConsumerCommand.KIND_REPLAY
BYE = control_pb2.ConsumerCommand.KIND_BYE
E1, E2 = 1_700_000_000_000_000, 1_700_000_500_000_000


def completed_file(seq: int, epoch: int, name: str = "", topic_sequence: int = 0) -> bytes:
    f = file_pb2.CompletedFile(filename=name or f"F{seq:07d}.TXT", data=b"x" * seq)
    f.header.producer_id = "fake.0"
    f.header.epoch = epoch
    f.header.sequence = seq
    f.header.topic_sequence = topic_sequence or seq
    f.header.payload_type = "emwin.bus.v1.CompletedFile"
    return f.SerializeToString()


class FakeProducer:
    """A pipeline ROUTER that records every ConsumerCommand and sends scripted deliveries."""

    def __init__(self, ctx: zmq.asyncio.Context):
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.commands: list[control_pb2.ConsumerCommand] = []
        self.identity = b""

    async def next_command(self, timeout: float = 5) -> control_pb2.ConsumerCommand:
        async with asyncio.timeout(timeout):
            identity, frame = await self.sock.recv_multipart()
        self.identity = identity
        cmd = control_pb2.ConsumerCommand.FromString(frame)
        self.commands.append(cmd)
        return cmd

    async def expect(self, kind: int, timeout: float = 5) -> control_pb2.ConsumerCommand:
        """The next command of `kind` (others are recorded on the way)."""
        async with asyncio.timeout(timeout):
            while True:
                cmd = await self.next_command(timeout)
                if cmd.kind == kind:
                    return cmd

    def acks(self) -> list[int]:
        return [s for c in self.commands for s in c.ack_sequences]

    async def deliver(self, seq: int, epoch: int = E1, *, replayed: bool = False, acked_through: int = 0,
                      topic: str = "", payload: bytes = b"") -> None:
        d = control_pb2.Delivery(sequence=seq, replayed=replayed, group_acked_through=acked_through)
        body = payload or completed_file(seq, epoch)
        await self.sock.send_multipart([self.identity, (topic or f"file.TXT.F{seq:07d}.TXT").encode(), body,
                                        d.SerializeToString()])

    def close(self) -> None:
        self.sock.close(linger=0)


@pytest.fixture
async def fake():
    ctx = zmq.asyncio.Context()
    producer = FakeProducer(ctx)
    yield producer
    producer.close()
    ctx.term()


def manager(fake, **kw) -> BusFileManager:
    return BusFileManager(BusClientOptions(files_pipe=fake.endpoint, heartbeat_s=0.1, group="t", **kw))


async def until(condition, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_hello_carries_group_window_and_prefixes_then_heartbeats_then_bye(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=8, topics=("file.TXT.",)) as files:
            hello = await fake.expect(HELLO)
            assert (hello.group, hello.credit, list(hello.topic_prefixes)) == ("t-files", 8, ["file.TXT."])
            assert hello.replica == fm.options.replica
            for _ in range(3):  # the heartbeat is a HELLO every heartbeat_s
                await fake.expect(HELLO, timeout=2)
            assert files.group == "t-files" and files.mode == "pipeline"
        bye = await fake.expect(BYE)
        assert (bye.group, bye.replica) == ("t-files", fm.options.replica)


async def test_a_message_is_acked_only_once_handled_and_not_when_the_body_raises(fake):
    async with manager(fake) as fm:
        with pytest.raises(RuntimeError, match="processing failed"):
            async with fm.stream_files(max_queue_size=8) as files:
                await fake.expect(HELLO)
                for seq in (1, 2, 3):
                    await fake.deliver(seq)
                got = []
                async for f in files:
                    got.append(f.header.sequence)
                    if len(got) == 3:
                        raise RuntimeError("processing failed")
        await fake.expect(BYE)
    assert got == [1, 2, 3]
    # 1 and 2 were handled (the loop asked for the next one); 3 was in hand when the
    # body raised: not acknowledged, so the producer gives it to another replica.
    assert sorted(fake.acks()) == [1, 2]


async def test_leaving_the_block_normally_acks_the_message_in_hand(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=8) as files:
            await fake.expect(HELLO)
            await fake.deliver(1)
            async for f in files:
                break
        await fake.expect(BYE)
    assert fake.acks() == [1]


async def test_the_window_bounds_what_is_unacknowledged(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=3) as files:
            hello = await fake.expect(HELLO)
            assert hello.credit == 3
            for seq in (1, 2, 3):
                await fake.deliver(seq)
            await until(lambda: files.queued() == 3)
            first = await anext(files)
            assert first.header.sequence == 1 and fake.acks() == []
            second = await anext(files)  # handled 1: its ack frees one slot
            await fake.expect(CREDIT)
            assert fake.acks() == [1] and second.header.sequence == 2


async def test_duplicates_are_dropped_and_acknowledged(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=16) as files:
            await fake.expect(HELLO)
            for seq in (1, 2, 2, 3):
                await fake.deliver(seq)
            await fake.deliver(4, acked_through=5)  # a redelivery another replica already handled
            await fake.deliver(6, acked_through=5)
            got = [(await anext(files)).header.sequence for _ in range(4)]
            assert got == [1, 2, 3, 6]
            assert files.stats.duplicates == 2
            assert files.stats.received == 4


async def test_a_producer_restart_asks_once_for_a_replay_of_the_new_epoch(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=16) as files:
            await fake.expect(HELLO)
            await fake.deliver(1, E1)
            first = await anext(files)
            # The producer restarted (new epoch E2) and published 1 and 2 before our heartbeat
            # re-created our group there, so the first delivery we get is 3 -- and, as the real
            # producer does for a group that joined mid-epoch, it says the group is "acked
            # through 2". We ask once for a REPLAY of E2 from the start.
            await fake.deliver(3, E2, acked_through=2)
            replay = await fake.expect(REPLAY)
            assert (replay.epoch, replay.replay_after_sequence, replay.group) == (E2, 0, "t-files")
            assert replay.credit == 16
            await fake.deliver(4, E2, acked_through=2)
            for seq in (1, 2, 3):                      # the replay: 1 and 2 are new to us, 3 is not
                await fake.deliver(seq, E2, replayed=True, acked_through=2)
            await fake.deliver(7, E1)                  # a straggler of the dead producer: dropped, never acked
            got = [(await anext(files)).header for _ in range(4)]
            assert [(h.epoch, h.sequence) for h in got] == [(E2, 3), (E2, 4), (E2, 1), (E2, 2)]
            await fake.deliver(5, E2, acked_through=4)
            assert (await anext(files)).header.sequence == 5
            assert first.header.epoch == E1
            assert files.stats.epochs_seen == 1 and files.stats.stale == 1 and files.stats.replay_requests == 1
            assert files.stats.duplicates == 1 and files.stats.replayed == 3
        await fake.expect(BYE)
    assert sum(1 for c in fake.commands if c.kind == REPLAY) == 1
    assert 7 not in fake.acks()
    assert {1, 2, 3, 4} <= set(fake.acks())


async def test_a_redelivery_below_the_groups_floor_is_a_duplicate(fake):
    async with manager(fake) as fm:
        async with fm.stream_files(max_queue_size=16) as files:
            await fake.expect(HELLO)
            await fake.deliver(5, acked_through=4)
            await fake.deliver(3, acked_through=5)   # another replica handled it: not again
            await fake.deliver(6, acked_through=5)
            assert [(await anext(files)).header.sequence for _ in range(2)] == [5, 6]
            assert files.stats.duplicates == 1


async def test_state_file_makes_a_restarted_consumer_ask_for_what_it_missed(fake, tmp_path):
    async with manager(fake, state_dir=str(tmp_path)) as fm:
        async with fm.stream_files(max_queue_size=16) as files:
            await fake.expect(HELLO)
            await fake.deliver(1)
            for seq in (2, 3):
                await fake.deliver(seq, acked_through=1)  # 1 was acknowledged (by us)
            for _ in range(3):
                await anext(files)
        await fake.expect(BYE)
    state = (tmp_path / "t-files.state").read_text().split()
    assert state[:3] == ["emwin-bus-consumer-state-v1", str(E1), "1"]
    assert sorted(int(s) for s in state[4:]) == [2, 3]
    # Restarted: HELLO, then REPLAY from the floor of the epoch it knew; what it had
    # already handled is dropped when the replay brings it again.
    async with manager(fake, state_dir=str(tmp_path)) as fm:
        async with fm.stream_files(max_queue_size=16) as files:
            await fake.expect(HELLO)
            replay = await fake.expect(REPLAY)
            assert (replay.epoch, replay.replay_after_sequence) == (E1, 1)
            for seq in (2, 3, 4):
                await fake.deliver(seq, replayed=True, acked_through=1)
            assert (await anext(files)).header.sequence == 4
            assert files.stats.duplicates == 2


async def test_cancelling_the_consumer_task_closes_the_stream(fake):
    fm = manager(fake)
    await fm.start()
    got = []

    async def consume():
        async with fm.stream_files() as files:
            async for f in files:
                got.append(f.header.sequence)

    task = asyncio.create_task(consume())
    await fake.expect(HELLO)
    await fake.deliver(1)
    await until(lambda: got == [1])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await fake.expect(BYE)
    assert fm._core.streams == set()
    await fm.stop()
    assert not fm.is_running
    # Nothing of ours is left running in the loop.
    assert {t for t in asyncio.all_tasks() if t.get_name().startswith("emwin-bus")} == set()


async def test_stop_ends_open_streams_and_their_loops(fake):
    fm = manager(fake)
    await fm.start()
    ended = asyncio.Event()

    async def consume():
        async with fm.stream_files() as files:
            async for _ in files:
                pass
        ended.set()

    task = asyncio.create_task(consume())
    await fake.expect(HELLO)
    await fm.stop()
    await fake.expect(BYE)
    async with asyncio.timeout(5):
        await ended.wait()
        await task
    with pytest.raises(RuntimeError, match="start"):
        fm.stream_files()


async def test_streams_need_start_and_async_with(fake):
    fm = manager(fake)
    with pytest.raises(RuntimeError, match="start"):
        fm.stream_files()
    async with fm:
        files = fm.stream_files()
        with pytest.raises(RuntimeError, match="async with"):
            async for _ in files:
                pass


async def test_concurrent_streams_get_their_own_groups_and_a_reopened_one_its_old_group(fake):
    async with manager(fake) as fm:
        async with fm.stream_files() as a, fm.stream_files() as b:
            assert (a.group, b.group) == ("t-files", "t-files-2")
        async with fm.stream_files() as c:
            assert c.group == "t-files"  # back in its group: it gets what it missed
        async with fm.stream_files(group="archive") as d, fm.stream_files(group="archive") as e:
            assert d.group == e.group == "archive"  # two replicas of one group
        unopened = fm.stream_files()
        async with fm.stream_files() as f:
            assert f.group == "t-files" and unopened.group is None


async def test_a_failing_handler_never_stops_the_others_or_the_stream(fake):
    async with manager(fake) as fm:
        seen = {"ok_sync": [], "ok_async": [], "bad": []}

        def ok_sync(f):
            seen["ok_sync"].append(f.header.sequence)

        async def ok_async(f):
            await asyncio.sleep(0)
            seen["ok_async"].append(f.header.sequence)

        def bad(f):
            seen["bad"].append(f.header.sequence)
            if f.header.sequence % 2:
                raise ValueError("odd file")

        for h in (ok_sync, bad, ok_async):
            fm.subscribe(h)
        fm.subscribe(ok_sync)  # subscribing twice calls it once
        hello = await fake.expect(HELLO)
        assert hello.group == "t-file-handlers"
        for seq in range(1, 7):
            await fake.deliver(seq)
        await until(lambda: len(seen["ok_async"]) == 6)
        assert seen == {"ok_sync": list(range(1, 7)), "ok_async": list(range(1, 7)), "bad": list(range(1, 7))}
        assert fm.handler_errors == 3 and fm.handler_calls == 18
        fm.unsubscribe(bad)
        await fake.deliver(7)
        await until(lambda: len(seen["ok_async"]) == 7)
        assert seen["bad"] == list(range(1, 7))
    await fake.expect(BYE)
    assert set(range(1, 7)) <= set(fake.acks())


async def test_a_broken_connection_surfaces_as_bus_error():
    fm = BusFileManager(BusClientOptions(files_pipe="tcp://127.0.0.1:1", heartbeat_s=0.1))
    async with fm:
        with pytest.raises(zmq.ZMQError):
            async with fm.stream_files(endpoint="not-an-endpoint"):
                pass
    assert fm._core.streams == set()


class FakeTap:
    """A tap (XPUB, so the test sees subscriptions arrive) that publishes scripted messages."""

    def __init__(self, ctx: zmq.asyncio.Context):
        self.sock = ctx.socket(zmq.XPUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    async def subscription(self, timeout: float = 5) -> bytes:
        async with asyncio.timeout(timeout):
            return await self.sock.recv()

    async def publish(self, topic: str, seq: int, topic_seq: int, epoch: int = E1) -> None:
        await self.sock.send_multipart([topic.encode(), completed_file(seq, epoch, topic.split(".", 2)[2],
                                                                       topic_seq)])


@pytest.fixture
async def tap():
    ctx = zmq.asyncio.Context()
    t = FakeTap(ctx)
    yield t
    t.sock.close(linger=0)
    ctx.term()


async def test_tap_counts_gaps_per_topic_family_and_filters_finer_prefixes_locally(tap):
    async with BusFileManager(BusClientOptions(files_tap=tap.endpoint, mode="tap")) as fm:
        async with fm.stream_files(topics=("file.TXT.",)) as files:
            assert await tap.subscription() == b"\x01file."  # the whole family: its numbering has no holes
            # sequence counts every message of the producer; topic_sequence only the family's.
            for seq, topic_seq, topic in ((10, 1, "file.TXT.A.TXT"), (12, 2, "file.GIF.B.GIF"),
                                          (13, 3, "file.TXT.C.TXT"), (20, 5, "file.TXT.E.TXT"),
                                          (21, 6, "file.TXT.F.TXT")):
                await tap.publish(topic, seq, topic_seq)
            got = [(await anext(files)).filename for _ in range(4)]
            assert got == ["A.TXT", "C.TXT", "E.TXT", "F.TXT"]
            s = files.stats
            assert (s.gaps, s.missed, s.filtered_out, s.span, s.received) == (1, 1, 1, 6, 4)
            assert s.received + s.filtered_out + s.missed == s.span


async def test_tap_overflow_drops_the_newest_and_counts_it(tap):
    async with BusFileManager(BusClientOptions(files_tap=tap.endpoint, mode="tap")) as fm:
        async with fm.stream_files(max_queue_size=2) as files:
            await tap.subscription()
            for i in range(1, 6):
                await tap.publish(f"file.TXT.N{i}.TXT", i, i)
            await until(lambda: files.stats.span == 5)
            assert [(await anext(files)).filename for _ in range(2)] == ["N1.TXT", "N2.TXT"]
            assert files.stats.overflow == 3 and files.stats.lost == 3
            await tap.publish("file.TXT.N6.TXT", 6, 6)
            assert (await anext(files)).filename == "N6.TXT"
