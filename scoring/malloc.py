"""How the C allocator hands memory back: a long shift's desk must not keep what a moment needed.

glibc's ``malloc`` serves a large block (a big dict's table, a pickled batch, a numpy array) with
``mmap``, given back to the system when freed, only above a threshold that it raises each time such a
block is freed (up to 32 MB): after the first large dict table is freed, every later one comes from
the heap, whose free holes it never gives back while anything lives above them. Over a 1M-mention
replay the desk process's heap held 35 MB free of 56 MB at 200k mentions and 48 MB free of 76 MB at
900k (``mallinfo2``): a third of its growth. A fixed threshold (``MMAP_THRESHOLD``) stops that
raising: large blocks go back when freed, the heap keeps the small ones (Python's own allocator
takes those under 512 bytes anyway). Measured on that replay: the desk process at 200k mentions 145 →
127 MB, its heap's free space 35 → 3 MB; 1 MiB left 16 MB free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # malloc.h


def steady_malloc(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix this process's mmap threshold (glibc only; elsewhere nothing); True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
