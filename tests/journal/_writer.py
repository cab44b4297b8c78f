"""A desk process for the crash and concurrency tests: writes actions and prints each one once committed.

    python _writer.py JOURNAL OPERATOR INCIDENT_ID COUNT BUSY_TIMEOUT

Each line printed is ``note <event id> <mentions archived so far>``, flushed right after the commit.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from tocsin.config.settings import DeskSettings, Settings
from tocsin.journal.api import Journal
from tocsin.sources.model import Author, Mention


async def main(path: str, operator: str, incident_id: int, count: int, busy_timeout: float) -> None:
    settings = Settings(desk=DeskSettings(journal=path, operator=operator))
    journal = await Journal.open(settings, busy_timeout=busy_timeout)
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    archived = 0
    try:
        for k in range(count):
            batch = [
                Mention(
                    uid=f"{operator}-{k}-{i}",
                    source="demo",
                    text=f"#BriocheGate mention {k}.{i} from {operator}",
                    created_at=t0 + timedelta(seconds=k),
                    received_at=t0 + timedelta(seconds=k),
                    author=Author(handle=f"user{i}", followers=i * 10),
                )
                for i in range(20)
            ]
            archived += await journal.archive(batch)
            inc = await journal.add_note(incident_id, f"{operator} action {k}")
            print(f"note {inc.last_event_id} {archived}", flush=True)
    finally:
        await journal.close()


if __name__ == "__main__":
    p, op, iid, n, bt = sys.argv[1:6]
    asyncio.run(main(p, op, int(iid), int(n), float(bt)))
