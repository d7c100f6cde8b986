"""The blob store: bytes by key that every process of a deployment reads alike (`host.blobs`).

Uploads go here, so a worker on another machine reads the file the API took in. Three backends
share one interface: a local folder (embedded mode), the SQL database (no extra service), and
S3-compatible storage. Keys are made by code, never from a client's file name: lower-case
segments of letters, digits, `.`, `_` and `-` joined by `/`, each starting with a letter or a
digit, so no key can be `..`, absolute, or hidden.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from jobhost.settings import Settings
    from jobhost.store.database import Database

FOLDER = "folder"
DATABASE = "database"
S3 = "s3"
_SEGMENT = r"[a-z0-9][a-z0-9._-]*"
_KEY = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
MAX_KEY = 255


class BlobError(ValueError):
    """A blob cannot be stored as asked (a bad key, too many bytes); the message says which."""


class BlobNotFound(Exception):
    """No blob is stored under this key (never stored, or deleted)."""


@attrs.frozen
class BlobInfo:
    """A stored blob as `Blobs.scan` lists it: its key, size in bytes, and when it was stored."""

    key: str
    size: int
    stored_at: datetime


@runtime_checkable
class Blobs(Protocol):
    """Bytes by key, shared by every process that uses the same store (`host.blobs`).

    `put` stores the whole value or nothing (a reader never sees half of it) and replaces an
    existing one; `get` raises `BlobNotFound`; `delete` says whether there was one.
    """

    kind: str

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> bool: ...

    def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob whose key starts with `prefix`, in key order."""
        ...


def check_key(key: object) -> str:
    """`key` if it is a valid blob key, else BlobError saying what a key may hold."""
    if not isinstance(key, str) or len(key) > MAX_KEY or not _KEY.match(key):
        raise BlobError(
            f"blob key {key!r} is invalid: keys are made by code (never from a file name), at most "
            f"{MAX_KEY} characters, lower-case segments of a-z 0-9 . _ - joined by '/', each starting "
            "with a letter or a digit"
        )
    return key


def check_size(key: str, data: bytes, max_size: int) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BlobError(f"blob {key!r}: put takes bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise BlobError(
            f"blob {key!r} has {len(data)} bytes, more than JOBHOST_BLOB_MAX_SIZE ({max_size} bytes)"
        )


def blob_store_kind(settings: Settings) -> str:
    """The backend the settings choose: JOBHOST_BLOB_STORE, else the database when DATABASE_URL
    is set (a deployment's processes share it), else the local folder."""
    chosen = settings.blob_store or (DATABASE if settings.database_url else FOLDER)
    return S3 if chosen.startswith("s3://") else chosen


def open_blobs(settings: Settings, database: Database) -> Blobs:
    """The blob store the settings choose (connects on first use)."""
    kind = blob_store_kind(settings)
    if kind == FOLDER:
        from jobhost.store.blob_folder import FolderBlobs

        return FolderBlobs(settings.uploads, settings.blob_max_size)
    if kind == DATABASE:
        from jobhost.store.blob_database import DatabaseBlobs

        return DatabaseBlobs(database, settings.blob_max_size)
    from jobhost.store.blob_s3 import S3Blobs

    assert settings.blob_store is not None
    return S3Blobs.from_settings(settings.blob_store, settings)
