"""Source resume cursors: where each source got to, so a restart picks up without a gap.

The value is the source's own (a Jetstream ``time_us``, a Mastodon status id, an RSS ETag…), kept as text.
"""

from __future__ import annotations

from tocsin.journal.errors import EmptyField
from tocsin.journal.store import Store, Tx, to_ms
from tocsin.sources.clock import Clock


class CursorCommands:
    """The cursor part of ``Journal``."""

    store: Store
    clock: Clock

    async def get_cursor(self, source_id: str) -> str | None:
        """The last cursor saved for ``source_id``, or None."""
        value = await self.store.scalar("SELECT value FROM cursors WHERE source_id = ?", (source_id,))
        return None if value is None else str(value)

    async def set_cursor(self, source_id: str, value: str) -> None:
        """Save a source's cursor (replacing the previous one)."""
        if not source_id.strip():
            raise EmptyField("source id")
        at = to_ms(self.clock.now())

        async def upsert(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO cursors (source_id, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(source_id) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (source_id, str(value), at),
            )

        await self.store.write(upsert, durable=False)
