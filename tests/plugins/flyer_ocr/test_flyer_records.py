"""The plugin's tables on SQLite and PostgreSQL, created by its own migration through
`jobhost db upgrade`: records, deals, idempotency keys, pages of flyers; and the upload folder."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from jobhost.store.blobs import check_key
from jobhost.testing import open_database
from jobhost_flyer_ocr import plugin
from jobhost_flyer_ocr.config import SETTINGS, limits_from
from jobhost_flyer_ocr.model import Box, Flyer, Item
from jobhost_flyer_ocr.records import DuplicateKey, Flyers
from jobhost_flyer_ocr.uploads import new_key
from tests.plugins.flyer_ocr.conftest import migrate


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database migrated by `jobhost db upgrade`, shared by the module; yields its engine URL."""
    folder = tmp_path_factory.mktemp("flyer-records")
    with open_database(request.param, folder) as url:  # with its async driver named
        migrate(url, folder)
        yield url


@pytest.fixture
async def flyers(database: str) -> AsyncIterator[Flyers]:
    engine = create_async_engine(database)
    yield Flyers(async_sessionmaker(engine, expire_on_commit=False))
    await engine.dispose()


@pytest.fixture
def owner() -> str:
    """An owner of this test's own: tests share the database."""
    return uuid.uuid4().hex[:16]


def _new(owner: str, key: str | None = None, sha: str = "a" * 64) -> dict:
    return {
        "owner": owner,
        "filename": "Weekly flyer.pdf",
        "stored_name": f"flyer-{uuid.uuid4().hex}.pdf",
        "media_type": "application/pdf",
        "size": 1234,
        "sha256": sha,
        "pages": 2,
        "store": None,
        "idempotency_key": key,
    }


DEALS = Flyer(
    store="FreshMart",
    valid_from=date(2026, 3, 8),
    valid_to=date(2026, 3, 14),
    pages=2,
    items=(
        Item("Bananas", Decimal("0.59"), unit="lb", unit_price=Decimal("0.59"), page=1, box=Box(1, 2, 3, 4)),
        Item(
            "Greek Yogurt",
            Decimal("5.00"),
            quantity=4,
            unit_price=Decimal("1.25"),
            size="5.3 oz",
            page=2,
            box=Box(10, 20, 30, 40),
            confidence=0.93,
        ),
        Item("Ground Coffee", Decimal("6.69"), quantity=2, unit_price=Decimal("3.35"), bogo=True, page=2),
        Item(
            "Fresh Strawberries",
            Decimal("997.00"),
            unit_price=Decimal("997.00"),
            page=2,
            confidence=0.3,
            regular_price=Decimal("1249.00"),
            description="Product of Mexico",
            limit=4,
            needs_review=True,
        ),
    ),
)


async def test_a_flyer_goes_from_queued_to_processed_with_its_deals(flyers, owner):
    record = await flyers.create(**_new(owner))
    assert (record.status, record.items, record.created_at.tzinfo is not None) == ("queued", (), True)
    await flyers.processing(record.id, "flyer-processing:abc")
    saved = await flyers.processed(record.id, DEALS, None)
    assert (saved.status, saved.job_id, saved.store, saved.pages) == (
        "processed",
        "flyer-processing:abc",
        "FreshMart",
        2,
    )
    assert (saved.valid_from, saved.valid_to) == (date(2026, 3, 8), date(2026, 3, 14))
    assert saved.items == DEALS.items  # decimals, boxes and flags round-trip exactly
    assert saved.processed_at is not None
    assert saved.needs_review == 1
    view = saved.as_dict()
    assert view["needs_review"] == 1
    strawberries = view["items"][-1]
    assert (strawberries["needs_review"], strawberries["regular_price"], strawberries["limit"]) == (
        True,
        "1249.00",
        4,
    )
    assert strawberries["description"] == "Product of Mexico"


async def test_processing_again_replaces_the_deals_never_doubles_them(flyers, owner):
    record = await flyers.create(**_new(owner))
    await flyers.processed(record.id, DEALS, None)
    again = await flyers.processed(record.id, DEALS, "My Store")
    assert len(again.items) == 4
    assert again.store == "My Store"  # the uploader's store name wins over the print


async def test_a_failed_flyer_keeps_its_error(flyers, owner):
    record = await flyers.create(**_new(owner))
    await flyers.failed(record.id, "the file looks like PNG but its pixels cannot be decoded")
    failed = await flyers.get(record.id)
    assert (failed.status, failed.error) == (
        "failed",
        "the file looks like PNG but its pixels cannot be decoded",
    )


async def test_an_idempotency_key_is_unique_per_owner(flyers, owner):
    first = await flyers.create(**_new(owner, key="k-1"))
    with pytest.raises(DuplicateKey):
        await flyers.create(**_new(owner, key="k-1"))
    other_owner = await flyers.create(**_new(f"{owner}-other", key="k-1"))
    assert other_owner.id != first.id
    assert (await flyers.by_key(owner, "k-1")).id == first.id
    assert await flyers.by_key(owner, "k-2") is None
    # Without a key there is no limit.
    await flyers.create(**_new(owner))
    await flyers.create(**_new(owner))


async def test_pages_of_an_owners_flyers_newest_first_with_deals(flyers, owner):
    made = [await flyers.create(**_new(owner)) for _ in range(5)]
    await flyers.create(**_new(f"{owner}-other"))
    await flyers.processed(made[-1].id, DEALS, None)
    first, total = await flyers.page(owner, 1, 2)
    second, _ = await flyers.page(owner, 2, 2)
    last, _ = await flyers.page(owner, 3, 2)
    assert total == 5
    assert [r.id for r in first + second + last] == [r.id for r in reversed(made)]
    assert len(first[0].items) == 4 and first[1].items == ()
    assert await flyers.page(owner, 4, 2) == ([], 5)


async def test_removing_a_flyer_removes_its_deals(flyers, owner):
    record = await flyers.create(**_new(owner))
    await flyers.processed(record.id, DEALS, None)
    await flyers.remove(record.id)
    assert await flyers.get(record.id) is None


def test_upload_keys_are_made_here_never_from_the_file_name():
    keys = {new_key("pdf") for _ in range(3)} | {new_key("jpeg")}
    assert len(keys) == 4
    assert all(re.fullmatch(r"flyer-[0-9a-f]{32}\.(pdf|jpg)", key) for key in keys)
    assert all(check_key(key) == key for key in keys)  # valid blob keys


def test_limits_come_from_the_environment(make_host):
    host = make_host(("flyer_ocr", plugin), FLYER_MAX_UPLOAD_MB="5", FLYER_MAX_PAGES="4")
    limits = limits_from(host.settings)
    assert (limits.max_bytes, limits.max_pages, limits.max_pixels) == (5 * 1024**2, 4, 40_000_000)
    with pytest.raises(ValueError, match="FLYER_MAX_UPLOAD_MB='0': must be a whole number of MiB >= 1"):
        make_host(("flyer_ocr", plugin), FLYER_MAX_UPLOAD_MB="0")


def test_the_plugin_registers_its_queue_task_routes_settings_and_migration(make_host):
    host = make_host(("flyer_ocr", plugin))
    info = host.registry.plugins["flyer_ocr"]
    assert info.status == "loaded", info.error
    policy = host.registry.queues["flyer-processing"]
    assert (policy.attempts, policy.backoff.delay, policy.concurrency_env) == (3, 5, "WORKER_CONCURRENCY")
    assert host.registry.tasks["flyer_ocr.process_flyer"].queue == "flyer-processing"
    paths = {path for route in host.registry.routes for path in route.paths}
    assert {
        "/api/ai/upload-and-process",
        "/api/ai/upload-legacy",
        "/api/ai/flyers/process",
        "/api/flyers",
    } <= paths
    assert {s.name for s in host.registry.settings} >= {s.name for s in SETTINGS}
    assert host.registry.migrations == [str(plugin.MIGRATIONS)]
