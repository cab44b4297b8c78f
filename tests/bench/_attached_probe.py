"""An attached desk in a process of its own, for the attach benchmark:

    python _attached_probe.py JOURNAL OUT

Runs an ``AttachedDesk`` with its journal session (as ``tocsin --attach JOURNAL`` does, without the
screen), prints ``ready`` once it follows the journal, and notes for every mention it takes the real
time it became available to the wall (``uid<TAB>unix time``); on SIGTERM it writes them to OUT and
exits.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tocsin.config.settings import DeskSettings, Settings, TopicSettings
from tocsin.desk.attach import AttachedDesk
from tocsin.desk.session import JournalSession
from tocsin.sources.model import ScoredMention


async def main(location: str) -> list[str]:
    topic = TopicSettings(id="brioche", name="Maison Brioche", keywords=("maison brioche",))
    settings = Settings(topics=(topic,), desk=DeskSettings(operator="probe", journal=location))
    desk = AttachedDesk(settings)
    session = JournalSession(settings, desk)
    seen: list[str] = []

    def taken(batch: Sequence[ScoredMention]) -> None:
        now = time.time()
        seen.extend(f"{m.mention.uid}\t{now:.6f}" for m in batch)

    desk.add_batch_listener(taken)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await session.start()
    await desk.start()
    print("ready", flush=True)
    await stop.wait()
    await desk.stop()
    await session.stop()
    return seen


if __name__ == "__main__":
    lines = asyncio.run(main(sys.argv[1]))
    Path(sys.argv[2]).write_text("\n".join(lines) + "\n", encoding="utf-8")
