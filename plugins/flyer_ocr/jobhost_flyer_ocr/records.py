"""Flyer records and their deals in the plugin's tables: what the API lists and the job fills in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobhost_flyer_ocr.model import Box, Flyer, Item
from jobhost_flyer_ocr.tables import flyers, items


class DuplicateKey(Exception):
    """This user already sent an upload with this Idempotency-Key."""


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every moment stored here is UTC.
    return moment.replace(tzinfo=UTC) if moment and not moment.tzinfo else moment


def _cents(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _cents_or_none(value: Any) -> Decimal | None:
    return None if value is None else _cents(value)


@attrs.frozen
class FlyerRecord:
    id: int
    owner: str
    status: str
    job_id: str | None
    filename: str | None
    stored_name: str
    media_type: str
    size: int
    sha256: str
    pages: int
    store: str | None
    valid_from: date | None
    valid_to: date | None
    error: str | None
    idempotency_key: str | None
    created_at: datetime
    processed_at: datetime | None
    items: tuple[Item, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The API's view: no storage details."""
        return {
            "id": self.id,
            "status": self.status,
            "job_id": self.job_id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "pages": self.pages,
            "store": self.store,
            "valid_from": self.valid_from and self.valid_from.isoformat(),
            "valid_to": self.valid_to and self.valid_to.isoformat(),
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "processed_at": self.processed_at and self.processed_at.isoformat(),
            "needs_review": self.needs_review,
            "items": [item.as_dict() for item in self.items],
        }

    @property
    def needs_review(self) -> int:
        """How many of the flyer's deals a person should check (see `plausible`)."""
        return sum(item.needs_review for item in self.items)


def _record(row: Any, found: tuple[Item, ...] = ()) -> FlyerRecord:
    values = dict(row._mapping)
    values["created_at"] = _aware(values["created_at"])
    values["processed_at"] = _aware(values["processed_at"])
    return FlyerRecord(**values, items=found)


def _item(row: Any) -> Item:
    return Item(
        name=row.name,
        price=_cents(row.price),
        quantity=row.quantity,
        unit=row.unit,
        unit_price=_cents_or_none(row.unit_price),
        size=row.size,
        save=_cents_or_none(row.save),
        percent_off=row.percent_off,
        bogo=row.bogo,
        page=row.page,
        box=Box(**row.box),
        confidence=row.confidence,
        regular_price=_cents_or_none(row.regular_price),
        description=row.description,
        limit=row.purchase_limit,
        needs_review=row.needs_review,
    )


class Flyers:
    """Flyer records on the host's database: `Flyers(host.db)`, or any async session factory."""

    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, **values: Any) -> FlyerRecord:
        """A new `queued` flyer; DuplicateKey when its owner already used its idempotency key."""
        values = {"status": "queued", "created_at": datetime.now(UTC), **values}
        try:
            async with self._sessions() as session, session.begin():
                made = insert(flyers).values(**values).returning(flyers.c.id)
                new_id = (await session.execute(made)).scalar_one()
        except IntegrityError:
            if values.get("idempotency_key") is not None:
                raise DuplicateKey(values["idempotency_key"]) from None
            raise
        created = await self.get(new_id)
        assert created is not None
        return created

    async def get(self, flyer_id: int) -> FlyerRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(select(flyers).where(flyers.c.id == flyer_id))).first()
            if row is None:
                return None
            found = await session.execute(
                select(items).where(items.c.flyer_id == flyer_id).order_by(items.c.position)
            )
            return _record(row, tuple(_item(r) for r in found))

    async def by_key(self, owner: str, key: str) -> FlyerRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(flyers).where(flyers.c.owner == owner).where(flyers.c.idempotency_key == key)
                )
            ).first()
        return _record(row) if row else None

    async def page(self, owner: str, page: int, per_page: int) -> tuple[list[FlyerRecord], int]:
        """One page of the owner's flyers, newest first, with their deals; and how many there are."""
        async with self._sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(flyers).where(flyers.c.owner == owner)
            )
            rows = (
                await session.execute(
                    select(flyers)
                    .where(flyers.c.owner == owner)
                    .order_by(flyers.c.id.desc())
                    .offset((page - 1) * per_page)
                    .limit(per_page)
                )
            ).all()
            ids = [row.id for row in rows]
            found: dict[int, list[Item]] = {flyer_id: [] for flyer_id in ids}
            if ids:
                for row in await session.execute(
                    select(items).where(items.c.flyer_id.in_(ids)).order_by(items.c.position)
                ):
                    found[row.flyer_id].append(_item(row))
        return [_record(row, tuple(found[row.id])) for row in rows], int(total or 0)

    async def _update(self, flyer_id: int, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(flyers).where(flyers.c.id == flyer_id).values(**values))

    async def set_job(self, flyer_id: int, job_id: str) -> None:
        await self._update(flyer_id, job_id=job_id)

    async def processing(self, flyer_id: int, job_id: str) -> None:
        await self._update(flyer_id, status="processing", job_id=job_id, error=None)

    async def failed(self, flyer_id: int, error: str) -> None:
        await self._update(flyer_id, status="failed", error=error)

    async def processed(self, flyer_id: int, flyer: Flyer, store: str | None) -> FlyerRecord:
        """Replace the flyer's deals with `flyer`'s and mark it processed, in one transaction
        (a job that runs again writes the same rows again, never twice)."""
        rows = [
            {
                "flyer_id": flyer_id,
                "position": position,
                "page": item.page,
                "name": item.name[:255],
                "price": item.price,
                "quantity": item.quantity,
                "unit": item.unit[:16],
                "unit_price": item.unit_price,
                "size": item.size and item.size[:32],
                "save": item.save,
                "percent_off": item.percent_off,
                "bogo": item.bogo,
                "confidence": round(item.confidence, 4),
                "box": item.box.as_dict(),
                "regular_price": item.regular_price,
                "description": item.description and item.description[:255],
                "purchase_limit": item.limit,
                "needs_review": item.needs_review,
            }
            for position, item in enumerate(flyer.items)
        ]
        async with self._sessions() as session, session.begin():
            await session.execute(delete(items).where(items.c.flyer_id == flyer_id))
            if rows:
                await session.execute(insert(items), rows)
            await session.execute(
                update(flyers)
                .where(flyers.c.id == flyer_id)
                .values(
                    status="processed",
                    error=None,
                    pages=flyer.pages,
                    store=name[:255] if (name := store or flyer.store) else None,
                    valid_from=flyer.valid_from,
                    valid_to=flyer.valid_to,
                    processed_at=datetime.now(UTC),
                )
            )
        saved = await self.get(flyer_id)
        assert saved is not None
        return saved

    async def queued_before(self, before: datetime) -> list[FlyerRecord]:
        """The flyers still `queued` that were uploaded before `before` (without their deals: none yet)."""
        async with self._sessions() as session:
            rows = (await session.execute(select(flyers).where(flyers.c.status == "queued"))).all()
        return [
            _record(row) for row in rows if (made := _aware(row.created_at)) is not None and made < before
        ]

    async def upload_owners(self, keys: Sequence[str], done_before: datetime) -> dict[str, bool]:
        """For each stored upload key a flyer has: True when it may go (processed, or failed,
        before `done_before`), False when it stays (queued, processing, or done since)."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        flyers.c.stored_name, flyers.c.status, flyers.c.processed_at, flyers.c.created_at
                    ).where(flyers.c.stored_name.in_(list(keys)))
                )
            ).all()
        verdicts: dict[str, bool] = {}
        for key, status, processed_at, created_at in rows:
            done_at = _aware(processed_at if status == "processed" else created_at)
            done = status in ("processed", "failed") and done_at is not None and done_at < done_before
            # Two records of one key (never made, but) keep it while either needs it.
            verdicts[key] = verdicts.get(key, True) and done
        return verdicts

    async def remove(self, flyer_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(items).where(items.c.flyer_id == flyer_id))
            await session.execute(delete(flyers).where(flyers.c.id == flyer_id))
