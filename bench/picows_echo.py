"""Upper reference: a picows (Cython) WebSocket echo on uvloop, no ASGI layer at all.

``python bench/picows_echo.py <port>``. Needs ``picows`` (the ``bench`` extra). Text frames come back
unchanged; close frames are answered; anything else is dropped.
"""

from __future__ import annotations

import sys

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server


class EchoListener(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            transport.send(WSMsgType.TEXT, frame.get_payload_as_memoryview())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


def listener_factory(_: WSUpgradeRequest) -> EchoListener:
    return EchoListener()


async def serve(port: int) -> None:
    server = await ws_create_server(listener_factory, "127.0.0.1", port, enable_auto_pong=True)
    await server.serve_forever()


def main(argv: list[str]) -> None:
    if len(argv) != 2 or not argv[1].isdigit():
        sys.exit("usage: picows_echo.py <port>")
    uvloop.run(serve(int(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
