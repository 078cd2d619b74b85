"""60 s of mixed traffic (bench/soak.py): no errors, and memory flat after warm-up."""

from __future__ import annotations

import pytest

from bench.soak import soak

# After a 10 s warm-up the working set is steady (2,000 rotating user ids, one subscription, cached
# rights), and the measured growth is under 1 MiB. 30 MiB is generous against allocator noise and
# still catches a leak of ~300 bytes per request over the ~100,000 requests of the run.
MAX_GROWTH_KIB = 30 * 1024


@pytest.mark.slow
async def test_soak_60s_no_errors_bounded_memory() -> None:
    figures = await soak(60.0)
    print(figures)
    assert figures["requests"] > 10_000, figures
    assert figures["errors"] == 0, figures["error_sample"]
    assert figures["notifications"] > 0
    assert figures["growth_after_warmup_kib"] < MAX_GROWTH_KIB, figures
