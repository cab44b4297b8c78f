"""A long-running process's memory (``scoring/memory.py``): the heap's free pages given back from a thread,
every ``TRIM_EVERY_S``; the collector kept quiet."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tocsin.scoring.memory import trim, trim_in_background


def test_the_background_trimmer_ends_with_its_event():
    stop = threading.Event()
    thread = trim_in_background(stop, every=0.01)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_pages_go_back_to_the_system():
    """Many small blocks freed below one still held: the heap cannot shrink from its top, and its free
    pages stay resident until ``trim`` gives them back."""
    probe = (
        "import ctypes, sys\n"
        "from tocsin.scoring.memory import trim\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "libc.malloc.argtypes = (ctypes.c_size_t,)\n"
        "libc.free.argtypes = (ctypes.c_void_p,)\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1])\n"
        "blocks = [libc.malloc(4000) for _ in range(20000)]\n"
        "for b in blocks:\n"
        "    ctypes.memset(b, 1, 4000)\n"
        "top = libc.malloc(4000)\n"
        "for b in blocks:\n"
        "    libc.free(b)\n"
        "before = rss()\n"
        "trim()\n"
        "print(before - rss() > 10000)\n"  # pages of 4 KB: over 40 MB of the ~80 MB freed
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_it_answers_everywhere():
    assert trim() in (True, False)


def test_the_quiet_collector_freezes_what_exists_and_still_frees_new_cycles():
    """In a fresh process (the test's own collector stays as it is): what exists is frozen, full
    collections wait, and a cycle made afterwards is still found."""
    script = (
        "import gc, weakref\n"
        "from tocsin.scoring.memory import FULL_COLLECTION_EVERY, quiet_collector\n"
        "before = gc.get_threshold()\n"
        "quiet_collector()\n"
        "assert gc.get_freeze_count() > 0\n"
        "young, middle, full = gc.get_threshold()\n"
        "assert (young, middle) == before[:2] and full == FULL_COLLECTION_EVERY, gc.get_threshold()\n"
        "class Node: pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "gone = weakref.ref(a)\n"
        "del a, b\n"
        "gc.collect()\n"
        "assert gone() is None\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
