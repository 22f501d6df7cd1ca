"""The web process's allocator settings (see frapp.memory)."""

import sys

import pytest

from frapp.memory import tune_malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_web_process_limits_malloc_arenas_and_returns_large_buffers():
    assert tune_malloc() is True
