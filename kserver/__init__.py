"""kserver: a Kuzzle 2.x protocol server."""

from kserver._compiled import stale as _stale

__version__ = "0.1.0"

if _late := _stale():  # a source checkout edited since its last build would run the old code
    raise ImportError(
        f"kserver: {', '.join(_late)} changed since compiled; rebuild with `python3 -m pip install -e .` "
        "(KSERVER_PURE=1 for pure Python) or delete the compiled files (kserver/**/*.so)"
    )
