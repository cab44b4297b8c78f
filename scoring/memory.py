"""A long-running process's memory: the C allocator's free pages given back (``trim``), and Python's
cyclic collector kept from stopping the process for long (``quiet_collector``).

A long shift's desk must not keep what a moment needed.

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

Python's collector: see ``quiet_collector``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import threading
from collections.abc import Callable

TRIM_EVERY_S = 30.0
FULL_COLLECTION_EVERY = 1000
"""Middle-generation collections between two full ones, at least (Python's default is 10): at 5,000
mentions a second about one full collection a minute in the desk, at calm rates far fewer."""


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


def quiet_collector() -> None:
    """Keep Python's cyclic garbage collector from stopping the process several times a second.

    A full collection walks every container object and holds the interpreter for as long as it takes.
    What exists once a process has started (modules, settings, the wall's widgets, the judge's tables)
    is moved out of the collector's rounds (``gc.freeze``), and full collections wait for
    ``FULL_COLLECTION_EVERY`` middle ones. Objects are still freed as soon as nothing refers to them;
    only cycles wait longer, and the desk makes few (``tui/strip_cycles.py``).

    - The desk's process (the wall, headless): a full collection still walks what the desk holds (the
      feed's mentions: 150,000–190,000 objects, 45–90 ms at 5,000/s). Once a minute, it delays a key
      press or two in a thousand; once every eight seconds (at 100) it was one in a hundred. The wall's
      key p99 at 5,000/s went from 35–42 ms to 28–29 ms.
    - The judge worker: with Python's defaults its full collections took a fifth of its time (21 in
      60,000 mentions, up to 210 ms each); ``judge_us_per_mention_varied`` went from 112–118 to
      92 µs, headless from 10,040 to 10,370–10,430 mentions a second.

    Called by a desk running its own workers and by the judge worker, not by tests' desks."""
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, max(full, FULL_COLLECTION_EVERY))
