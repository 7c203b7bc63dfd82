"""The inline GET and SET of ``pipeline.run_requests`` on a key holding another type (as foreign SQL rows may),
on a memory store that plays such keys; the variants every store kind shares are in ``any_store_fast_path.py``."""
from __future__ import annotations

import pytest

from tests.unit.any_store_fast_path import FOREIGN, compare


@pytest.mark.parametrize("name,setup,request_,max_size", FOREIGN, ids=[v[0] for v in FOREIGN])
async def test_inline_get_and_set_on_another_type(name, setup, request_, max_size, clock):
    await compare(None, clock, "foreign", setup, request_, max_size)
