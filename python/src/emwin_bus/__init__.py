"""emwin_bus: the ByteBlaster Python library's async-iterator API, over the emwin bus.

    from emwin_bus import BusFileManager, BusClientOptions
    file_manager = BusFileManager(BusClientOptions(host="127.0.0.1"))
    await file_manager.start()
    async with file_manager.stream_files(max_queue_size=10) as files:
        async for completed_file in files:
            print(completed_file.filename, len(completed_file.data))

See docs/python.md. Importing the package connects nothing; the generated protobuf
modules (emwin.bus.v1) are checked against the checkout's .proto files when the
package runs from a source tree.
"""
from ._schema import GENERATED_DIGEST as SCHEMA_SHA256
from ._sessions import StreamStats
from .client import BusClient, BusFileManager
from .filters import AlertFilter
from .messages import Alert, BusMessage, CompletedFile, Segment, ServerList, ServiceStats, StatsSummary
from .options import PIPELINE, TAP, BusClientOptions, add_arguments, options_from_args
from .runner import run
from .streams import BusError, MessageStream

__version__ = "0.1.0"

__all__ = [
    "Alert", "AlertFilter", "BusClient", "BusClientOptions", "BusError", "BusFileManager", "BusMessage",
    "CompletedFile", "MessageStream", "PIPELINE", "SCHEMA_SHA256", "Segment", "ServerList", "ServiceStats",
    "StatsSummary", "StreamStats", "TAP", "__version__", "add_arguments", "options_from_args", "run",
]
