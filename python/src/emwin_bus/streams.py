"""MessageStream: a bounded async iterator over bus messages, opened with `async with`.

    async with file_manager.stream_files(max_queue_size=10) as files:
        async for completed_file in files:
            ...

A background task receives into a queue of at most `max_queue_size` messages.
* Pipeline path (its own consumer group): the producer never has more than
  `max_queue_size` messages unacknowledged to us (the credit window). A message is
  acknowledged when the loop asks for the next one (the body handled it) or when
  the `async with` block ends normally -- or, with auto_ack=False, when the program
  calls stream.ack(message) (e.g. after a batch was processed; keep batches smaller
  than max_queue_size, since the producer sends nothing more while the window is full). A slow body therefore stops the flow: the
  producer queues for the group, then holds (it stops publishing, and upstream
  stops reading); nothing is lost. Leaving the block because of an exception or
  cancellation does not acknowledge the message in hand: it is delivered again.
* Tap path: the socket is always read; when the queue is full the newest message
  is dropped and counted (`stats.overflow`); losses upstream are counted from the
  producer's sequence numbers (`stats.gaps`, `stats.missed`). Nothing waits on us.
Leaving the block (normally, by exception, or by cancellation) closes the socket
(BYE on the pipeline) and ends the background tasks.

Not thread-safe: use a stream from the event loop it was opened in.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any, Callable, Generic, Optional, TypeVar

import zmq

from ._sessions import PipelineSession, Received, StreamStats, TapSession
from .messages import BusMessage

log = logging.getLogger("emwin_bus")

T = TypeVar("T", bound=BusMessage)


class BusError(RuntimeError):
    """The stream's connection failed (the cause is chained)."""


class MessageStream(Generic[T]):
    """Bounded async iterator of `wrap` messages (CompletedFile, Segment, Alert, ...)."""

    def __init__(self, owner: Any, *, name: str, mode: str, make_session: Callable[["MessageStream"], Any],
                 wrap: dict[str, type], max_queue_size: int, accept: Optional[Callable[[Any], bool]] = None,
                 auto_ack: bool = True):
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be >= 1")
        self._owner = owner
        self.name = name                    # e.g. "files"
        self.mode = mode                    # "pipeline" or "tap"
        self.group: Optional[str] = None    # pipeline consumer group, chosen when the stream opens
        self.max_queue_size = max_queue_size
        self.auto_ack = auto_ack            # False: the program calls ack(message)
        self.stats = StreamStats()
        self._make_session = make_session
        self._wrap = wrap                   # payload_type -> wrapper class
        self._accept = accept
        self._session: Any = None
        self._queue: collections.deque[tuple[Any, int, int]] = collections.deque()
        self._wake = asyncio.Event()
        self._current: Any = None           # auto_ack: the message handed out, not yet acknowledged
        self._tasks: list[asyncio.Task] = []
        self._state = "new"                 # new -> open -> closed
        self._error: Optional[BaseException] = None

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> "MessageStream[T]":
        await self.open()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        await self.close(handled=exc_type is None)
        return False

    async def open(self) -> None:
        """Connects and starts receiving (called by `async with`)."""
        if self._state != "new":
            raise RuntimeError(f"stream {self.name} was already opened")
        self._state = "open"
        self._owner._stream_opened(self)
        try:
            self._session = self._make_session(self)
            await self._session.start()
        except BaseException:
            self._state = "closed"
            if self._session is not None:
                self._session.close()
            self._owner._stream_closed(self)
            raise
        self._tasks.append(asyncio.create_task(self._receive_loop(), name=f"emwin-bus {self.name} receiver"))
        if isinstance(self._session, PipelineSession):
            self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name=f"emwin-bus {self.name} heartbeat"))

    async def close(self, handled: bool = True) -> None:
        """Stops receiving and closes the socket; idempotent. With `handled`, the message
        in hand is acknowledged first (pipeline)."""
        if self._state == "closed":
            return
        was_open = self._state == "open"
        self._state = "closed"
        self._wake.set()
        try:
            if handled and self._current is not None and self._session is not None:
                self._ack(self._current)
            self._current = None
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            self._tasks.clear()
            if self._session is not None:
                self._session.close()
            self._queue.clear()
            if was_open:
                self._owner._stream_closed(self)

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    def queued(self) -> int:
        """Messages received and waiting in the queue."""
        return len(self._queue)

    # -- iteration --------------------------------------------------------------

    def __aiter__(self) -> "MessageStream[T]":
        if self._state == "new":
            raise RuntimeError(f"open the stream with `async with ...stream_{self.name}(...) as stream` first")
        return self

    async def __anext__(self) -> T:
        self._finish_current()
        while not self._queue:
            if self._error is not None:
                raise BusError(f"stream {self.name} failed: {self._error}") from self._error
            if self._state != "open":
                raise StopAsyncIteration
            if self._session is not None:
                self._session.flush()  # idle: hand the credit back now
            self._wake.clear()
            await self._wake.wait()
        item, epoch, seq = self._queue.popleft()
        if self.auto_ack:
            self._current = item
        self.stats.delivered += 1
        return item

    async def get(self) -> T:
        """The next message (like `await anext(stream)`); StopAsyncIteration once closed."""
        return await self.__anext__()

    def ack(self, message: Any) -> None:
        """Acknowledges a message this stream yielded: it was handled, the producer may forget it
        and send another (pipeline; no-op on the tap). Needed with auto_ack=False; idempotent."""
        if self._state == "open":
            self._ack(message)
        if self._current is message:
            self._current = None

    def _ack(self, message: Any) -> None:
        token = getattr(message, "_ack_token", None)
        if token is not None:
            message._ack_token = None
            self._session.ack(*token)

    def _finish_current(self) -> None:
        if self._current is not None:
            if self._state == "open":
                self._ack(self._current)
            self._current = None

    # -- background tasks -------------------------------------------------------

    def _convert(self, r: Received) -> Optional[Any]:
        cls = self._wrap.get(r.header.payload_type)
        if cls is None:
            self.stats.skipped += 1
            return None
        try:
            message = cls.PROTO.FromString(r.payload)
        except Exception as e:
            self.stats.skipped += 1
            log.warning("%s: cannot parse %s on %s: %s", self.name, r.header.payload_type, r.topic, e)
            return None
        item = cls(message, r.topic, r.replayed)
        if self._accept is not None:
            try:
                wanted = self._accept(item)
            except Exception:
                log.exception("%s: filter failed on %s; message dropped", self.name, r.topic)
                wanted = False
            if not wanted:
                self.stats.filtered_out += 1
                return None
        return item

    async def _receive_loop(self) -> None:
        session = self._session
        tap = isinstance(session, TapSession)
        try:
            while True:
                frames = await session.sock.recv_multipart()
                r = session.process(frames)
                if r is None:
                    continue
                item = self._convert(r)
                if item is None:
                    session.ack(r.epoch, r.sequence)
                    continue
                if tap and len(self._queue) >= self.max_queue_size:
                    self.stats.overflow += 1
                    continue
                self.stats.received += 1
                item._ack_token = (r.epoch, r.sequence)
                self._queue.append((item, r.epoch, r.sequence))
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except zmq.ZMQError as e:
            if self._state == "open":
                self._error = e
                log.error("%s: receive failed: %s", self.name, e)
        except Exception as e:  # a bug: surface it to the consumer rather than hang
            self._error = e
            log.exception("%s: receiver failed", self.name)
        finally:
            self._wake.set()

    async def _heartbeat_loop(self) -> None:
        period = self._owner.options.heartbeat_s
        while True:
            await asyncio.sleep(period)
            try:
                self._session.maintain()
            except zmq.ZMQError as e:  # keep beating: the next one may get through
                log.warning("%s: heartbeat failed: %s", self.name, e)
