"""The client on an authenticated bus (services started with --keys, docs/security.md):
with BusClientOptions(keys=...) and a key allowed for its group it receives every file;
without keys it receives nothing, and nothing is lost to it."""
from __future__ import annotations

import asyncio

from emwin_bus import BusFileManager
from harness import corpus, product_dir


async def test_keyed_client_gets_every_file_an_unkeyed_one_none(pipeline_factory, tmp_path):
    files = corpus("flood_warning")[:20]
    p = pipeline_factory(product_dir(tmp_path, "flood", files), keys=True, file_consumers=1,
                         sim_args=["--rate", "40fps"])
    p.allow("group.keyed-files", "python")  # the python identity may join this group
    p.start_consumers()
    got, stolen = [], []

    async def drain(stream, into):
        async for f in stream:
            into.append(f)

    async with BusFileManager(p.options(group="keyed", keys=str(p.keys_dir))) as keyed, \
            BusFileManager(p.options(group="keyed")) as naked:
        async with keyed.stream_files(max_queue_size=8) as ok_stream, \
                naked.stream_files(max_queue_size=8) as no_stream:
            tasks = [asyncio.create_task(drain(ok_stream, got)), asyncio.create_task(drain(no_stream, stolen))]
            await asyncio.to_thread(p.start_feed)
            assert await asyncio.to_thread(p.wait_sim_done, 90), p.describe()
            sent = p.sent()
            deadline = asyncio.get_running_loop().time() + 60
            while {f.filename for f in got} < set(sent) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            for t in tasks:
                t.cancel()
    assert {f.filename for f in got} == set(sent), p.describe()
    assert {f.filename: f.sha256 for f in got} == sent
    assert stolen == []
    # The assembler refused the connection that had no key.
    assert "CURVE handshake failed" in p.assembler.text("stderr") or "refused" in p.assembler.text("stderr")
