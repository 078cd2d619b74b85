"""Storage engines: the engine-agnostic contract suite and each engine's own tests."""
