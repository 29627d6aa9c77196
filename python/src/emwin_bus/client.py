"""BusFileManager and BusClient: the ByteBlaster library's API, over the emwin bus.

    options = BusClientOptions(host="127.0.0.1")          # was ByteBlasterClientOptions(email=...)
    file_manager = BusFileManager(options)                # was ByteBlasterFileManager(options)
    await file_manager.start()
    async with file_manager.stream_files(max_queue_size=10) as files:
        async for completed_file in files:
            print(completed_file.filename, len(completed_file.data))
    async with file_manager.client.stream_segments() as segments: ...
    async with file_manager.stream_alerts(phenomenon="TO", significance="W") as alerts: ...
    file_manager.subscribe(handler)                        # handler(completed_file), sync or async
    await file_manager.stop()

Where the ByteBlaster library connects to a ByteBlaster server itself, these
attach to the bus: completed files come from emwin-assembler (deduplicated,
archives unpacked), segments from emwin-ingest, alerts from emwin-alert-classifier.

Not thread-safe: one manager belongs to one event loop (everything runs in it).
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import os
from typing import Any, Awaitable, Callable, Optional, Sequence, Union

import zmq
import zmq.asyncio

from ._sessions import PipelineSession, TapSession
from .filters import AlertFilter
from .messages import (Alert, BY_PAYLOAD_TYPE, CompletedFile, Segment, ServerList, ServiceStats,
                       StatsSummary)
from .options import PIPELINE, TAP, MODES, BusClientOptions
from .streams import MessageStream

log = logging.getLogger("emwin_bus")

Handler = Callable[[Any], Union[None, Awaitable[None]]]


class _Core:
    """What the manager and its client share: options, the ZeroMQ context, open streams."""

    def __init__(self, options: BusClientOptions):
        self.options = options
        self.context: Optional[zmq.asyncio.Context] = None
        self.streams: set[MessageStream] = set()
        self.groups_in_use: collections.Counter[str] = collections.Counter()

    @property
    def started(self) -> bool:
        return self.context is not None

    def require_started(self) -> zmq.asyncio.Context:
        if self.context is None:
            raise RuntimeError("call `await file_manager.start()` (or use `async with`) before opening a stream")
        return self.context

    def _stream_opened(self, stream: MessageStream) -> None:
        self.streams.add(stream)

    def _stream_closed(self, stream: MessageStream) -> None:
        self.streams.discard(stream)
        if stream.group:
            self.groups_in_use[stream.group] -= 1
            if self.groups_in_use[stream.group] <= 0:
                del self.groups_in_use[stream.group]

    def group_for(self, kind: str, group: Optional[str]) -> str:
        """The consumer group of a stream being opened: `group`, or "<options.group>-<kind>", then
        -2, -3... while streams of the same kind are open (so each sees every message)."""
        name = group
        if not name:
            base = f"{self.options.group}-{kind}"
            name, n = base, 1
            while name in self.groups_in_use:
                n += 1
                name = f"{base}-{n}"
        self.groups_in_use[name] += 1
        return name

    def stream(self, kind: str, *, wrap: dict[str, type], topics: Sequence[str], max_queue_size: int,
               mode: Optional[str], group: Optional[str], endpoint: Optional[str] = None,
               accept: Optional[Callable[[Any], bool]] = None, replay_retained: bool = False,
               tap_endpoints: Optional[Sequence[str]] = None, auto_ack: bool = True) -> MessageStream:
        mode = mode or self.options.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.require_started()
        o = self.options
        if mode == TAP:
            endpoints = list(tap_endpoints or [endpoint or o.endpoint(kind, TAP)])

            def make_session(stream: MessageStream):
                return TapSession(self.require_started(), endpoints, list(topics), o.receive_hwm, stream.stats,
                                  curve=o.curve_keys())
            return MessageStream(self, name=kind, mode=TAP, make_session=make_session, wrap=wrap,
                                 max_queue_size=max_queue_size, accept=accept, auto_ack=auto_ack)

        pipe_endpoint = endpoint or o.endpoint(kind, PIPELINE)

        def make_session(stream: MessageStream):
            # The group is chosen when the stream opens (see group_for) and freed when it closes.
            stream.group = self.group_for(kind, group)
            state_file = None
            if o.state_dir:
                os.makedirs(o.state_dir, exist_ok=True)
                state_file = os.path.join(o.state_dir, f"{stream.group}.state")
            return PipelineSession(self.require_started(), pipe_endpoint, stream.group, o.replica, max_queue_size,
                                   list(topics), stream.stats, state_file=state_file,
                                   replay_retained=replay_retained, curve=o.curve_keys())
        return MessageStream(self, name=kind, mode=PIPELINE, make_session=make_session, wrap=wrap,
                             max_queue_size=max_queue_size, accept=accept, auto_ack=auto_ack)


class _Dispatcher:
    """Runs subscribed handlers for every message of one stream, isolating their failures."""

    def __init__(self, what: str, open_stream: Callable[[], MessageStream]):
        self.what = what
        self.handlers: list[Handler] = []
        self.errors = 0            # handler calls that raised
        self.calls = 0             # handler calls made
        self._open_stream = open_stream
        self._task: Optional[asyncio.Task] = None
        self.stream: Optional[MessageStream] = None

    def subscribe(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler must be callable")
        if handler not in self.handlers:
            self.handlers.append(handler)

    def unsubscribe(self, handler: Handler) -> None:
        try:
            self.handlers.remove(handler)
        except ValueError:
            pass

    def ensure_running(self) -> None:
        if self.handlers and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name=f"emwin-bus {self.what} handlers")

    async def _call(self, handler: Handler, item: Any) -> None:
        self.calls += 1
        try:
            result = handler(item)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self.errors += 1
            log.exception("%s handler %s failed on %s", self.what, getattr(handler, "__name__", handler), item)

    async def _run(self) -> None:
        try:
            async with self._open_stream() as stream:
                self.stream = stream
                async for item in stream:
                    # Every handler sees every message; one that raises is logged and counted,
                    # and neither the others nor the stream stop. The message is acknowledged
                    # once all handlers returned (so slow handlers hold the pipeline too).
                    handlers = list(self.handlers)
                    if handlers:
                        await asyncio.gather(*(self._call(h, item) for h in handlers))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s handlers stopped: their stream failed", self.what)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class BusClient:
    """The segment side (ByteBlasterClient's role): QBT blocks as emwin-ingest decoded them."""

    def __init__(self, options: Optional[BusClientOptions] = None, *, _core: Optional[_Core] = None):
        self._core = _core or _Core(options or BusClientOptions())
        self._owns_core = _core is None
        self._segments = _Dispatcher("segment", lambda: self.stream_segments(
            group=f"{self.options.group}-segment-handlers"))

    @property
    def options(self) -> BusClientOptions:
        return self._core.options

    @property
    def is_running(self) -> bool:
        """True between start() and stop()."""
        return self._core.started

    is_connected = is_running  # (the ByteBlaster client's name; the bus connects per stream)

    async def start(self) -> None:
        """Only needed for a BusClient used on its own (BusFileManager.start() covers its client)."""
        if self._owns_core:
            await _start(self._core)
        self._segments.ensure_running()

    async def stop(self, timeout: Optional[float] = None) -> None:
        """Stops segment handlers and (for a BusClient used on its own) every stream."""
        async with asyncio.timeout(timeout):
            await self._segments.stop()
            if self._owns_core:
                await _stop(self._core)

    async def __aenter__(self) -> "BusClient":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def stream_segments(self, max_queue_size: int = 1000, *, mode: Optional[str] = None,
                        group: Optional[str] = None, topics: Sequence[str] = ("seg.",),
                        endpoint: Optional[str] = None, auto_ack: bool = True) -> MessageStream[Segment]:
        """Segments (`.filename`, `.block_number`, `.total_blocks`, `.data`, ...). `topics` narrows
        by prefix (e.g. "seg.TXT."). See MessageStream for what `mode` and `max_queue_size` do."""
        return self._core.stream("segments", wrap={Segment.PROTO.DESCRIPTOR.full_name: Segment}, topics=topics,
                                 max_queue_size=max_queue_size, mode=mode, group=group, endpoint=endpoint,
                                 auto_ack=auto_ack)

    def stream_server_lists(self, max_queue_size: int = 16, *, endpoint: Optional[str] = None
                            ) -> MessageStream[ServerList]:
        """Server lists ingest received from ByteBlaster servers (tap only)."""
        return self._core.stream("segments", wrap={ServerList.PROTO.DESCRIPTOR.full_name: ServerList},
                                 topics=("serverlist.",), max_queue_size=max_queue_size, mode=TAP, group=None,
                                 endpoint=endpoint)

    def subscribe(self, handler: Handler) -> None:
        """Calls handler(segment) for every segment (after start()); errors are isolated."""
        self._segments.subscribe(handler)
        if self._core.started:
            self._segments.ensure_running()

    def unsubscribe(self, handler: Handler) -> None:
        self._segments.unsubscribe(handler)

    @property
    def handler_errors(self) -> int:
        """Segment handler calls that raised (logged; the others and the stream went on)."""
        return self._segments.errors


class BusFileManager:
    """Completed files, alerts and handler subscriptions (ByteBlasterFileManager's role)."""

    def __init__(self, options: Optional[BusClientOptions] = None, **option_fields: Any):
        if options is None:
            options = BusClientOptions(**option_fields)
        elif option_fields:
            raise TypeError("pass either a BusClientOptions or its fields as keywords, not both")
        self._core = _Core(options)
        self.client = BusClient(_core=self._core)
        self._files = _Dispatcher("file", lambda: self.stream_files(group=f"{self.options.group}-file-handlers"))

    @property
    def options(self) -> BusClientOptions:
        return self._core.options

    @property
    def is_running(self) -> bool:
        """True between start() and stop()."""
        return self._core.started

    async def start(self) -> None:
        """Creates the ZeroMQ context and starts subscribed handlers. Idempotent."""
        await _start(self._core)
        self._files.ensure_running()
        self.client._segments.ensure_running()

    async def stop(self, shutdown_timeout: Optional[float] = None) -> None:
        """Stops handlers, ends every open stream (their `async for` loops finish) and closes
        the sockets (BYE on the pipeline). Idempotent. With shutdown_timeout, raises
        TimeoutError if that takes longer (a handler that ignores cancellation)."""
        async with asyncio.timeout(shutdown_timeout):
            await self._files.stop()
            await self.client._segments.stop()
            await _stop(self._core)

    async def __aenter__(self) -> "BusFileManager":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- iterators ----------------------------------------------------------------

    def stream_files(self, max_queue_size: int = 100, *, mode: Optional[str] = None, group: Optional[str] = None,
                     topics: Sequence[str] = ("file.",), endpoint: Optional[str] = None,
                     replay_retained: bool = False, auto_ack: bool = True) -> MessageStream[CompletedFile]:
        """Completed files (`.filename`, `.data`, `.fd_time`, `.sha256`, ...), each once.

        max_queue_size: files received and not yet handled, at most (pipeline: also the
          credit window, so a slow loop holds the producer; tap: a full queue drops, counted).
        mode: "pipeline" or "tap" (default: options.mode).
        group: pipeline consumer group (default "<options.group>-files"); replicas share one.
        topics: topic prefixes, e.g. ("file.TXT.",).
        replay_retained: pipeline: also ask for everything the producer still retains
          (duplicates are dropped), e.g. the first time a group is used.
        auto_ack: True: a file is acknowledged when the loop asks for the next one; False:
          when the program calls files.ack(completed_file) (batches, hand-offs).
        """
        return self._core.stream("files", wrap={CompletedFile.PROTO.DESCRIPTOR.full_name: CompletedFile},
                                 topics=topics, max_queue_size=max_queue_size, mode=mode, group=group,
                                 endpoint=endpoint, replay_retained=replay_retained, auto_ack=auto_ack)

    def stream_alerts(self, max_queue_size: int = 100, *, filter: Optional[AlertFilter] = None,
                      mode: Optional[str] = None, group: Optional[str] = None, endpoint: Optional[str] = None,
                      replay_retained: bool = False, auto_ack: bool = True, **criteria: Any) -> MessageStream[Alert]:
        """Structured alerts from emwin-alert-classifier, filtered with the gateway's criteria:
        topic, product, office, state, ugc, phenomenon, significance, action, min_tier,
        lat/lon/distance_km, has_polygon (see AlertFilter), as keywords or `filter=`.
        Topic prefixes (given, or implied by phenomenon/significance) are applied by the
        producer; the rest here (non-matching alerts are acknowledged and counted in
        stats.filtered_out)."""
        if filter is not None and criteria:
            raise TypeError("pass either filter= or filter keywords, not both")
        if filter is None:
            if "ugc_table" not in criteria and self.options.ugc_table:
                criteria["ugc_table"] = self.options.ugc_table
            filter = AlertFilter(**criteria)
        return self._core.stream("alerts", wrap={Alert.PROTO.DESCRIPTOR.full_name: Alert},
                                 topics=filter.producer_prefixes(), max_queue_size=max_queue_size, mode=mode,
                                 group=group, endpoint=endpoint, accept=filter.matches,
                                 replay_retained=replay_retained, auto_ack=auto_ack)

    def stream_stats(self, max_queue_size: int = 100, *, endpoints: Optional[Sequence[str]] = None,
                     topics: Sequence[str] = ("stats.",)) -> MessageStream:
        """ServiceStats / StatsSummary from taps (default: the assembler's), e.g. to watch
        `bus_blocked_us` (time the producer was held by backpressure). Tap only."""
        wrap = {c.PROTO.DESCRIPTOR.full_name: c for c in (ServiceStats, StatsSummary)}
        return self._core.stream("stats", wrap=wrap, topics=topics, max_queue_size=max_queue_size, mode=TAP,
                                 group=None, tap_endpoints=list(endpoints or [self.options.files_tap]))

    # -- callbacks ------------------------------------------------------------------

    def subscribe(self, handler: Handler) -> None:
        """Calls handler(completed_file) for every file once started; sync or async handlers.
        A handler that raises is logged and counted (handler_errors); the other handlers and
        the stream go on. All handlers share one stream (group "<options.group>-file-handlers"
        on the pipeline, so they have backpressure too: a file is acknowledged after all returned)."""
        self._files.subscribe(handler)
        if self._core.started:
            self._files.ensure_running()

    def unsubscribe(self, handler: Handler) -> None:
        """Stops calling handler (from the next file on)."""
        self._files.unsubscribe(handler)

    @property
    def handler_errors(self) -> int:
        """File handler calls that raised (logged; the others and the stream went on)."""
        return self._files.errors

    @property
    def handler_calls(self) -> int:
        return self._files.calls

    @property
    def subscriber_stream(self) -> Optional[MessageStream]:
        """The stream feeding the subscribed handlers (for its stats), once started."""
        return self._files.stream


async def _start(core: _Core) -> None:
    if core.context is None:
        core.context = zmq.asyncio.Context()


async def _stop(core: _Core) -> None:
    for stream in list(core.streams):
        await stream.close(handled=False)
    ctx, core.context = core.context, None
    if ctx is not None:
        # Every socket is closed; term() waits for their linger (BYE on its way) off the loop.
        await asyncio.get_running_loop().run_in_executor(None, ctx.term)
