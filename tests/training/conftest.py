"""Fixtures of this test directory: torch on one CPU thread.

Tiny networks on a shared 2-core machine run orders of magnitude slower with several torch
threads (OpenMP threads wait for each other on a loaded machine), and the bit-identity checks
need one fixed thread count. The previous setting is restored after each test.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
