"""How the C allocator hands memory back: a long shift's desk must not keep what a moment needed.

glibc's ``malloc`` serves a large block (a big dict's table, a pickled batch, a numpy array) with
``mmap``, given back to the system when freed, only above a threshold that it raises each time such a
block is freed (up to 32 MB): after the first large dict table is freed, every later one comes from
the heap, whose free holes it never gives back while anything lives above them. Over a 1M-mention
replay the desk process's heap held 35 MB free of 56 MB at 200k mentions and 48 MB free of 76 MB at
900k (``mallinfo2``): a third of its growth.

The desk process and the judge worker give those holes back every ``TRIM_EVERY_S`` (a thread each,
``trim_in_background``) with ``malloc_trim(0)``, which returns every free whole page of the heap to
the system (``madvise``), in a few milliseconds, the interpreter lock released. Measured first and
rejected: fixing the mmap threshold (``mallopt``) so that large blocks are mapped and unmapped each
time gave back as much, but every new dict table was then faulted in afresh, and the judge spent 13 %
more CPU a mention.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Callable

TRIM_EVERY_S = 30.0


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_size_t,)
    fn.restype = ctypes.c_int
    return fn


_TRIM = _malloc_trim()


def trim() -> bool:
    """Give the heap's free pages back to the system now (glibc only; elsewhere nothing). True when
    some memory was released."""
    return bool(_TRIM(0)) if _TRIM is not None else False


def trim_in_background(stop: threading.Event, every: float = TRIM_EVERY_S) -> threading.Thread:
    """A daemon thread that trims every ``every`` seconds until ``stop`` is set (the call releases the
    interpreter lock: the event loop runs on meanwhile)."""

    def run() -> None:
        while not stop.wait(every):
            trim()

    thread = threading.Thread(target=run, name="tocsin-malloc-trim", daemon=True)
    thread.start()
    return thread
