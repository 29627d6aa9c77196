"""BusClientOptions: where the bus is and how to attach to it (replaces ByteBlasterClientOptions).

Plain data; safe to share between tasks once built.
"""
from __future__ import annotations

import dataclasses
import os
import socket
from typing import Optional

# Default ports of the services (README "Bus topics and messages").
SEGMENTS_TAP_PORT = 5601   # emwin-ingest tap (seg.*, serverlist.*, stats.ingest.*)
FILES_TAP_PORT = 5602      # emwin-assembler tap (file.*, stats.assembler.*)
ALERTS_TAP_PORT = 5603     # emwin-alert-classifier tap (alert.*, stats.alert-classifier.*)
STATS_TAP_PORT = 5604      # emwin-stats (stats.summary)
SEGMENTS_PIPE_PORT = 5611  # emwin-ingest pipeline
FILES_PIPE_PORT = 5612     # emwin-assembler pipeline
ALERTS_PIPE_PORT = 5613    # emwin-alert-classifier pipeline

PIPELINE = "pipeline"
TAP = "tap"
MODES = (PIPELINE, TAP)


@dataclasses.dataclass
class BusClientOptions:
    """Endpoints and attachment settings. Where ByteBlaster took an email, the bus takes endpoints.

    Every endpoint left as None is derived from `host` and the service's default port.
    """

    # Host running the services (used for every endpoint not given explicitly).
    host: str = "127.0.0.1"
    # Pipeline (reliable, acknowledged, ROUTER) endpoints.
    segments_pipe: Optional[str] = None   # ingest, default tcp://host:5611
    files_pipe: Optional[str] = None      # assembler, default tcp://host:5612
    alerts_pipe: Optional[str] = None     # alert-classifier, default tcp://host:5613
    # Tap (best-effort, PUB) endpoints.
    segments_tap: Optional[str] = None    # ingest, default tcp://host:5601
    files_tap: Optional[str] = None       # assembler, default tcp://host:5602
    alerts_tap: Optional[str] = None      # alert-classifier, default tcp://host:5603
    stats_tap: Optional[str] = None       # emwin-stats, default tcp://host:5604
    # Default path of every stream: "pipeline" (nothing lost; a full queue holds the
    # producer) or "tap" (never slows anyone; losses counted as gaps). Per stream: mode=.
    mode: str = PIPELINE
    # Prefix of consumer-group names on the pipeline path: the first stream of files is
    # group "<group>-files", of segments "<group>-segments", of alerts "<group>-alerts";
    # a second one open at the same time gets "-2", and so on. Processes that use the same
    # group share its messages (replicas); a program that comes back under the same group
    # gets what it missed. Per stream: group=.
    group: str = "python"
    # This process's replica name within its groups (default: host-pid-random).
    replica: Optional[str] = None
    # Pipeline heartbeat (HELLO) period; the producer drops a replica silent for 3 s.
    heartbeat_s: float = 0.5
    # Directory where pipeline streams persist their position (epoch, acknowledged
    # sequences) so a restarted program asks for a REPLAY of what it missed; None = off.
    state_dir: Optional[str] = None
    # Tap: ZeroMQ receive high-water mark (messages buffered in the socket).
    receive_hwm: int = 10000
    # UGC centroid table (CSV: ugc,kind,name,latitude,longitude) for distance filters of
    # stream_alerts; None = the table shipped with the package or found in the checkout.
    ugc_table: Optional[str] = None
    # Keys directory of an authenticated bus (the services' --keys, docs/security.md): CURVE
    # on every socket, with <keys>/bus.pub and this program's key pair <keys>/<key_name>.key
    # (made by `emwin-keygen --dir KEYS NAME` and allowed to read taps / join groups).
    # None = the bus runs without keys.
    keys: Optional[str] = None
    key_name: str = "python"

    def curve_keys(self) -> Optional[tuple[str, str, str]]:
        """(server public, own public, own secret) Z85 keys from `keys`, or None without keys."""
        if not self.keys:
            return None
        def read(name: str) -> dict[str, str]:
            path = os.path.join(self.keys, name)
            try:
                with open(path, encoding="ascii") as f:
                    words = f.read().split()
            except OSError as e:
                raise ValueError(f"BusClientOptions.keys: cannot read {path}: {e}") from None
            pairs = dict(zip(words[0::2], words[1::2]))
            if len(pairs.get("public", "")) != 40:
                raise ValueError(f"BusClientOptions.keys: {path} holds no CURVE key")
            return pairs
        server = read("bus.pub")
        own = read(f"{self.key_name}.key")
        if len(own.get("secret", "")) != 40:
            raise ValueError(f"BusClientOptions.keys: {self.key_name}.key has no secret key")
        return server["public"], own["public"], own["secret"]

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"BusClientOptions.mode must be one of {MODES}, not {self.mode!r}")
        if self.heartbeat_s <= 0 or self.heartbeat_s > 2.5:
            raise ValueError("BusClientOptions.heartbeat_s must be in (0, 2.5] (the producer times out after 3 s)")
        if not self.group:
            raise ValueError("BusClientOptions.group must not be empty")
        if self.receive_hwm < 0:
            raise ValueError("BusClientOptions.receive_hwm must be >= 0")
        defaults = {
            "segments_pipe": SEGMENTS_PIPE_PORT, "files_pipe": FILES_PIPE_PORT, "alerts_pipe": ALERTS_PIPE_PORT,
            "segments_tap": SEGMENTS_TAP_PORT, "files_tap": FILES_TAP_PORT, "alerts_tap": ALERTS_TAP_PORT,
            "stats_tap": STATS_TAP_PORT,
        }
        for field, port in defaults.items():
            if getattr(self, field) is None:
                setattr(self, field, f"tcp://{self.host}:{port}")
        if self.replica is None:
            self.replica = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"

    def endpoint(self, kind: str, mode: str) -> str:
        """Endpoint of `kind` ("segments", "files", "alerts") on path `mode` ("pipeline" or "tap")."""
        return getattr(self, f"{kind}_{'pipe' if mode == PIPELINE else 'tap'}")


def add_arguments(parser) -> None:
    """Adds the bus options to an argparse parser (--host, --mode, --group, --files-pipe, ...).

    Every option also reads an environment variable (EMWIN_BUS_HOST, EMWIN_BUS_MODE, ...)."""
    env = os.environ.get
    g = parser.add_argument_group("emwin bus")
    g.add_argument("--host", default=env("EMWIN_BUS_HOST", "127.0.0.1"),
                   help="host of the services, for every endpoint not given (default %(default)s)")
    g.add_argument("--mode", choices=MODES, default=env("EMWIN_BUS_MODE", PIPELINE),
                   help="pipeline: nothing lost, a slow consumer holds the producer; tap: never holds, "
                        "losses counted (default %(default)s)")
    g.add_argument("--group", default=env("EMWIN_BUS_GROUP", "python"),
                   help="consumer group prefix on the pipeline (default %(default)s)")
    g.add_argument("--state-dir", default=env("EMWIN_BUS_STATE_DIR"),
                   help="persist pipeline positions here (replay after a restart)")
    for kind, what in (("segments", "emwin-ingest"), ("files", "emwin-assembler"),
                       ("alerts", "emwin-alert-classifier")):
        for path, port_name in (("pipe", "pipeline"), ("tap", "tap")):
            name = f"{kind}_{path}"
            g.add_argument(f"--{kind}-{path}", dest=name, default=env(f"EMWIN_BUS_{name.upper()}"),
                           help=f"{what} {port_name} endpoint")


def options_from_args(args, **overrides) -> BusClientOptions:
    """BusClientOptions from arguments added by add_arguments()."""
    fields = {f.name for f in dataclasses.fields(BusClientOptions)}
    values = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    values.update(overrides)
    return BusClientOptions(**values)
