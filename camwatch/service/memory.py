"""Keep a long-running, many-threaded camwatch from growing its heap.

glibc gives busy threads their own malloc arenas (up to 8 per core); with a thread per
camera, per source and per sink, freed frame buffers get scattered over many arenas and
the resident size creeps up for hours. Two arenas are plenty for camwatch. The setting is
applied at start-up unless MALLOC_ARENA_MAX is already set in the environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

_LOGGER = logging.getLogger(__name__)
_M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas; False where that is not possible (musl, macOS, …)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_ARENA_MAX, arenas))
    if ok:
        _LOGGER.debug("malloc arenas capped at %d", arenas)
    return ok
