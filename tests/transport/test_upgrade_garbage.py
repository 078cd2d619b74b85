"""An upgraded WebSocket connection leaves no cyclic garbage behind (its HTTP protocol is freed at
once): what lets idle connections cost no memory between collections, whatever the GC thresholds."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.transport.child import run_probe

PROBE = textwrap.dedent(
    """
    import asyncio, collections, gc

    import uvicorn
    import uvloop

    from kserver.app import build_app
    from kserver.cli import uvicorn_config
    from kserver.config import Settings
    from tests.reliability.rawws import RawWebSocket

    async def main():
        settings = Settings(storage="sqlite:///{db}", port=0, host="127.0.0.1", log_level="warning")
        app = build_app(settings)
        server = uvicorn.Server(uvicorn_config(settings, app))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        connections = [await RawWebSocket.open(port) for _ in range(5)]  # warm-up
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(50):
            ws = await RawWebSocket.open(port)
            await ws.send({{"controller": "server", "action": "now", "requestId": "r"}})
            assert '"status":200' in await ws.recv_text()
            connections.append(ws)
        gc.collect()
        kinds = collections.Counter(type(o).__name__ for o in gc.garbage)
        gc.set_debug(0)
        gc.garbage.clear()
        server.should_exit = True
        await serving
        print(dict(kinds))

    uvloop.run(main())
    """
)


def test_upgraded_connections_leave_no_cyclic_garbage(tmp_path: Path) -> None:
    # In a child process: the collector's debug flag is process-wide.
    assert run_probe(PROBE.format(db=tmp_path / "k.db")).splitlines()[-1] == "{}"
