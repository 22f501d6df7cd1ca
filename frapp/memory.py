"""glibc's allocator settings for a threaded web process.

A fresh fetch of a 10,000-order list briefly holds tens of MB (the answer, the decoded orders,
the stored bytes, SQLite's copies). With glibc's defaults each gunicorn thread gets its own
malloc arena and large buffers are carved from those arenas once the adaptive mmap threshold
has risen, so what one fetch freed stayed resident per thread, and peak memory grew with the
threads. Two arenas and a fixed mmap threshold give large buffers back to the system when they
are freed. (``MALLOC_ARENA_MAX``/``MALLOC_MMAP_THRESHOLD_`` in the environment do the same
before start; set here so every way of starting the app gets it.)
"""

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune_malloc(*, arenas: int = 2, mmap_threshold: int = 128 * 1024) -> bool:
    """Apply the settings where the C library is glibc; elsewhere nothing happens."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator has no mallopt
        return False
    ok = mallopt(M_ARENA_MAX, arenas) == 1 and mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
    if not ok:
        logger.warning("mallopt refused the web process memory settings")
    return ok
