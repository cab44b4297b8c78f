"""An ingest desk in a process of its own, for the kill and takeover tests:

    python _ingest_desk.py JOURNAL OPERATOR

Runs an ``IngestDesk`` (a real ``Desk`` on a fed source) with its journal session. Prints ``role
standby`` or ``role ingest`` as its role changes (``role ingest from N`` when its source resumed from
the cursor N saved in the journal), then, while it leads, feeds its source a post every 20 ms
(``c<number>``, going on from the cursor), until killed. Cursors are saved every half second, not every
10 s, so a takeover test need not wait.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import tocsin.desk.session as session_module

session_module.CURSOR_EVERY_S = 0.5

_spec = importlib.util.spec_from_file_location("_attach_kit", Path(__file__).with_name("_attach_kit.py"))
assert _spec is not None and _spec.loader is not None
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)


async def main(location: str, operator: str) -> None:
    ingest = kit.Ingest(kit.team(location, operator))

    async def said(role: str) -> None:
        if role == "ingest":
            source = ingest.sources[-1]
            start = source.resumed_from
            print(f"role ingest from {start}" if start is not None else "role ingest", flush=True)
        else:
            print(f"role {role}", flush=True)

    ingest.desk.add_role_listener(said)
    await ingest.start()
    n = 0
    while True:
        await asyncio.sleep(0.02)
        if ingest.desk.ingesting:
            source = ingest.sources[-1]
            if n == 0 and source.resumed_from is not None:
                n = source.resumed_from
            n += 1
            ingest.put(kit.post(n))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
