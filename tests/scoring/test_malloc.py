"""The allocator's fixed mmap threshold (``steady_malloc``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tocsin.scoring.malloc import steady_malloc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_blocks_go_back_to_the_system_once_freed():
    """After ``steady_malloc``, a freed 1 MB table does not raise the threshold: the next one of 600 KB
    is mapped and given back when freed (without it, it comes from the heap and stays there)."""
    probe = (
        "import ctypes, sys\n"
        "from tocsin.scoring.malloc import steady_malloc\n"
        "libc = ctypes.CDLL('libc.so.6')\n"
        "libc.malloc.restype = ctypes.c_void_p\n"
        "libc.free.argtypes = (ctypes.c_void_p,)\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',"
        " 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc.mallinfo2.restype = Info\n"
        "if sys.argv[1] == 'steady':\n"
        "    assert steady_malloc()\n"
        "libc.free(libc.malloc(1 << 20))\n"
        "before = libc.mallinfo2().hblkhd\n"
        "kept = libc.malloc(600_000)\n"
        "print(libc.mallinfo2().hblkhd - before >= 600_000)\n"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", *args], capture_output=True, text=True)

    if run("import ctypes; ctypes.CDLL('libc.so.6').mallinfo2").returncode != 0:
        pytest.skip("not glibc 2.33+")
    steady, default = run(probe, "steady"), run(probe, "default")
    assert steady.returncode == default.returncode == 0, steady.stderr + default.stderr
    assert steady.stdout.strip() == "True"  # mapped: it goes back when freed
    assert default.stdout.strip() == "False"  # glibc's raised threshold: from the heap


def test_it_answers_everywhere():
    assert steady_malloc() in (True, False)
