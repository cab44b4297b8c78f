"""Giving the heap's free pages back (``scoring/malloc.py``): periodically, never on each request."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tocsin.scoring import malloc
from tocsin.scoring.malloc import Trimmer, trim, trim_in_background


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_trimmer_trims_once_its_time_has_come(monkeypatch):
    calls = []
    monkeypatch.setattr(malloc, "trim", lambda: calls.append(1) or True)
    clock = Clock()
    trimmer = Trimmer(every=30.0, monotonic=clock)
    assert not trimmer.due() and not calls
    clock.now = 29.0
    assert not trimmer.due()
    clock.now = 30.5
    assert trimmer.due() and len(calls) == 1
    clock.now = 45.0
    assert not trimmer.due() and len(calls) == 1  # counted from the last trim


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
        "from tocsin.scoring.malloc import trim\n"
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
