"""kserver: a Kuzzle 2.x protocol server."""

__version__ = "0.1.0"
