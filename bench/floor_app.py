"""The floor of each benchmarked request: kserver's transport plus only the work the request must do.

``python bench/floor_app.py <port> <sqlite file> <jwt>``. Served as kserver is (uvicorn, httptools,
websockets-sansio, uvloop, kserver's own WebSocket protocol and its direct path), it answers three
Kuzzle requests with Kuzzle envelopes, doing for each what no implementation can skip:

- ``server:now``: parse the frame, read the clock, encode the answer;
- ``security:getUser``: compare the ``jwt`` with the one given on the command line (what a cached
  token check costs at best), read the user by id on the event loop (one SQLite read transaction
  per loop iteration, as kserver), decode it and encode its ``content``;
- ``security:upsertUser``: compare the ``jwt``, then in a writer thread, for all the requests of a
  loop iteration in one transaction: read the user, merge ``content`` and the update time into it
  (or create it), write it back; the transaction commits with ``synchronous=FULL`` (the WAL fsynced)
  before any of them is answered: durable group commit, what kserver's ``wait_for`` promises.

Everything else kserver does on these paths (the jwt's signature and expiry, rights, validation,
profiles, the ``created`` and ``_kuzzle_info`` rules, notifications, errors, backpressure, limits)
is left out on purpose, so a ratio of this app to the echo baseline bounds from above what any
server of this protocol can do with this transport, this language and SQLite on this machine.
``bench/run --targets floor`` measures it; it starts with ``SEED`` users ``m0``..``m<SEED-1>``.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.echo_app import serve
from kserver.transport.direct import DIRECT_EXTENSION, DirectSocket
from kserver.transport.protocols import guarded_protocols

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SEED = 1000
GROUP_MAX = 64
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, "
    "source TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID"
)
SELECT = "SELECT version, source FROM docs WHERE collection = 'users' AND id = ?"
INSERT = "INSERT INTO docs (collection, id, version, source) VALUES ('users', ?, 1, ?)"
UPDATE = "UPDATE docs SET version = ?, source = ? WHERE collection = 'users' AND id = ?"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def seed(path: str) -> None:
    conn = _connect(path)
    conn.execute(SCHEMA)
    now = int(time.time() * 1000)
    conn.execute("BEGIN")
    for i in range(SEED):
        info = {"author": "floor", "createdAt": now, "updatedAt": None, "updater": None}
        content = {"profileIds": ["default"], "i": i, "_kuzzle_info": info}
        conn.execute(
            "INSERT OR IGNORE INTO docs VALUES ('users', ?, 1, ?)",
            (f"m{i}", orjson.dumps({"content": content, "credentials": {}}).decode()),
        )
    conn.execute("COMMIT")
    conn.close()


def envelope(frame: dict[str, Any], result: Any) -> bytes:
    request_id = frame.get("requestId")
    return orjson.dumps(
        {
            "requestId": request_id,
            "status": 200,
            "error": None,
            "controller": frame.get("controller"),
            "action": frame.get("action"),
            "collection": None,
            "index": None,
            "volatile": None,
            "room": request_id,
            "result": result,
        }
    )


def failure(frame: dict[str, Any], status: int, message: str) -> bytes:
    request_id = frame.get("requestId")
    error = {"status": status, "message": message, "id": "floor.refused", "code": 0}
    answer = {"requestId": request_id, "status": status, "error": error, "room": request_id}
    return orjson.dumps(answer)


class Reader:
    """Reads by id on the loop, one read transaction per loop iteration."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = _connect(path)
        self._loop = loop
        self._open = False

    def get(self, id: str) -> dict[str, Any] | None:
        if not self._open:
            self._conn.execute("BEGIN")
            self._open = True
            self._loop.call_soon(self._end)
        row = self._conn.execute(SELECT, (id,)).fetchone()
        return None if row is None else orjson.loads(row[1])

    def _end(self) -> None:
        self._open = False
        self._conn.execute("COMMIT")


class Job:
    __slots__ = ("content", "frame", "id", "reply", "result")

    def __init__(
        self, reply: Callable[[bytes], None], frame: dict[str, Any], id: str, content: dict[str, Any]
    ) -> None:
        self.reply = reply
        self.frame = frame
        self.id = id
        self.content = content
        self.result: Any = None


class Writer:
    """Group commit in a thread: a loop iteration's jobs in one durable transaction."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = _connect(path)
        self._loop = loop
        self._pending: list[Job] = []
        self._queue: queue.SimpleQueue[list[Job]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="floor-writer", daemon=True).start()

    def submit(self, job: Job) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(job)

    def _flush(self) -> None:
        self._queue.put(self._pending)
        self._pending = []

    def _run(self) -> None:
        conn = self._conn
        while True:
            group = self._queue.get()
            while len(group) < GROUP_MAX:
                try:
                    group += self._queue.get_nowait()
                except queue.Empty:
                    break
            now = int(time.time() * 1000)
            conn.execute("BEGIN IMMEDIATE")
            for job in group:
                row = conn.execute(SELECT, (job.id,)).fetchone()
                if row is None:
                    info = {"author": "floor", "createdAt": now, "updatedAt": None, "updater": None}
                    content = {**job.content, "_kuzzle_info": info}
                    source: dict[str, Any] = {"content": content, "credentials": {}}
                    conn.execute(INSERT, (job.id, orjson.dumps(source).decode()))
                    created = True
                else:
                    source = orjson.loads(row[1])
                    content = source["content"] = {**source["content"], **job.content}
                    info = {**content.get("_kuzzle_info", {}), "updatedAt": now, "updater": "floor"}
                    content["_kuzzle_info"] = info
                    conn.execute(UPDATE, (row[0] + 1, orjson.dumps(source).decode(), job.id))
                    created = False
                job.result = {"_id": job.id, "_source": source["content"], "created": created}
            conn.execute("COMMIT")  # synchronous=FULL: the WAL is on disk when this returns
            self._loop.call_soon_threadsafe(self._answer, group)

    @staticmethod
    def _answer(group: list[Job]) -> None:
        for job in group:
            job.reply(envelope(job.frame, job.result))


class Floor:
    def __init__(self, path: str, jwt: str) -> None:
        self._path = path
        self._jwt = jwt
        self._reader: Reader | None = None
        self._writer: Writer | None = None

    def _stores(self) -> tuple[Reader, Writer]:
        if self._reader is None or self._writer is None:
            loop = asyncio.get_running_loop()
            self._reader, self._writer = Reader(self._path, loop), Writer(self._path, loop)
        return self._reader, self._writer

    def handle(self, text: str, reply: Callable[[bytes], None]) -> None:
        frame = orjson.loads(text)
        action = frame.get("action")
        if action == "now":
            reply(envelope(frame, {"now": int(time.time() * 1000)}))
            return
        if frame.get("jwt") != self._jwt:
            reply(failure(frame, 401, "invalid token"))
            return
        reader, writer = self._stores()
        if action == "getUser":
            source = reader.get(frame["_id"])
            if source is None:
                reply(failure(frame, 404, "no such user"))
            else:
                reply(envelope(frame, {"_id": frame["_id"], "_source": source["content"]}))
        elif action == "upsertUser":
            writer.submit(Job(reply, frame, frame["_id"], frame["body"]["content"]))
        else:
            reply(failure(frame, 400, "not a floor request"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        socket: DirectSocket = scope["extensions"][DIRECT_EXTENSION]["socket"]
        loop = asyncio.get_running_loop()

        queued: set[asyncio.Task[None]] = set()

        async def send_text(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        def reply(text: bytes) -> None:
            if not socket.write_text(text):  # paused for back pressure: the ASGI way
                task = loop.create_task(send_text(text.decode()))
                queued.add(task)
                task.add_done_callback(queued.discard)

        socket.attach(lambda text: self.handle(text, reply))
        while True:  # frames that came before attach() or while the protocol queued them
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            if message.get("text") is not None:
                self.handle(message["text"], reply)


def main(argv: list[str]) -> None:
    if len(argv) != 4 or not argv[1].isdigit():
        sys.exit("usage: floor_app.py <port> <sqlite file> <jwt>")
    seed(argv[2])
    http_protocol, ws_protocol = guarded_protocols(10.0)
    serve(Floor(argv[2], argv[3]), int(argv[1]), http=http_protocol, ws=ws_protocol, proxy_headers=False)


if __name__ == "__main__":
    main(sys.argv)
