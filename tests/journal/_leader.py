"""An ingest desk's leadership in a process of its own, for the takeover tests:

    python _leader.py JOURNAL HOLDER

Waits for leadership of ``ingest`` on the journal (a file path or a PostgreSQL URL), prints
``leading HOLDER`` once it has it, then holds it until killed (or until it is lost: ``lost`` is printed).
"""

from __future__ import annotations

import asyncio
import sys

from tocsin.journal.store import Store


async def main(location: str, holder: str) -> None:
    store = await Store.open(location)
    try:
        lease = await store.lead("ingest", holder=holder, poll=0.05)
        print(f"leading {holder}", flush=True)
        await lease.lost.wait()
        print("lost", flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
