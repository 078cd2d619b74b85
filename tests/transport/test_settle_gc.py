"""``settle_gc``: what the server process freezes, and that garbage made later is still collected."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.transport.child import run_probe

PROBE = textwrap.dedent(
    """
    import gc
    import weakref

    from kserver.app import build_app
    from kserver.cli import settle_gc
    from kserver.config import Settings

    app = build_app(Settings(storage="sqlite:///{db}"))
    assert gc.get_freeze_count() == 0
    settle_gc()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000, frozen  # modules, classes and the app's objects

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None  # a cycle made after settling is still found and freed
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert gc.get_threshold()[0] == 2000  # young collections: see kserver.cli.YOUNG_GC_THRESHOLD
    print("ok")
    """
)


def test_settle_gc_freezes_the_built_server_and_keeps_collecting_new_garbage(tmp_path: Path) -> None:
    # In a child process: freezing this test process would keep every later test's garbage.
    assert run_probe(PROBE.format(db=tmp_path / "k.db")) == "ok"
