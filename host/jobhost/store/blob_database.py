"""Blobs in the SQL database (table `blobs`): no extra service, shared wherever DATABASE_URL is.

Each blob is one row holding the whole value (`LargeBinary`: `bytea` on PostgreSQL, a BLOB on
SQLite). Values are bounded by JOBHOST_BLOB_MAX_SIZE and read and written whole, so chunking
would buy no streaming; one row makes a put one statement in one transaction, atomic on both
databases with nothing half-written to clean up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import delete, insert, select

from jobhost.store.blobs import DATABASE, BlobInfo, BlobNotFound, check_key, check_size
from jobhost.store.database import Database
from jobhost.store.models import BlobRow, utcnow

# Keys listed per query of `scan`: a table of millions of uploads is read in pages.
PAGE = 500


class DatabaseBlobs:
    kind = DATABASE

    def __init__(self, database: Database, max_size: int) -> None:
        self.database = database
        self.max_size = max_size

    async def put(self, key: str, data: bytes) -> None:
        check_size(check_key(key), data, self.max_size)
        async with self.database.sessions() as session, session.begin():
            await session.execute(delete(BlobRow).where(BlobRow.key == key))
            await session.execute(
                insert(BlobRow).values(key=key, size=len(data), stored_at=utcnow(), data=bytes(data))
            )

    async def get(self, key: str) -> bytes:
        check_key(key)
        async with self.database.sessions() as session:
            data = await session.scalar(select(BlobRow.data).where(BlobRow.key == key))
        if data is None:
            raise BlobNotFound(f"no blob {key!r} in the database")
        return bytes(data)

    async def delete(self, key: str) -> bool:
        check_key(key)
        async with self.database.sessions() as session, session.begin():
            result = await session.execute(delete(BlobRow).where(BlobRow.key == key))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        after = ""
        while True:
            async with self.database.sessions() as session:
                rows = (
                    await session.execute(
                        select(BlobRow.key, BlobRow.size, BlobRow.stored_at)
                        .where(BlobRow.key.startswith(prefix, autoescape=True), BlobRow.key > after)
                        .order_by(BlobRow.key)
                        .limit(PAGE)
                    )
                ).all()
            for key, size, stored_at in rows:
                yield BlobInfo(key, size, stored_at)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]
