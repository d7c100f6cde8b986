"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), through obstore.

obstore (the Rust `object_store` crate's Python binding) is async, retries on its own, and has
no dependencies of its own; one PUT stores a whole value, so no half-written blob ever exists.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from jobhost.errors import ServiceUnavailable
from jobhost.store.blobs import S3, BlobInfo, BlobNotFound, check_key, check_size

if TYPE_CHECKING:
    from jobhost.settings import Settings


# obstore retries failed requests itself; past this the store counts as down (a 503 in a request,
# a retried try in a job) rather than holding the request for minutes.
RETRY = {"max_retries": 3, "retry_timeout": timedelta(seconds=15)}


class S3Blobs:
    kind = S3

    def __init__(self, store: S3Store, prefix: str, max_size: int, where: str) -> None:
        self.store = store
        self.prefix = prefix  # `folder/` inside the bucket, or ""
        self.max_size = max_size
        self.where = where

    @classmethod
    def from_settings(cls, url: str, settings: Settings) -> S3Blobs:
        bucket, _, prefix = url[len("s3://") :].partition("/")
        options: dict[str, Any] = {}
        if settings.s3_endpoint:
            options["endpoint"] = settings.s3_endpoint
            # A self-hosted server answers on its own host name, not the bucket's sub-domain.
            options["virtual_hosted_style_request"] = False
        if settings.s3_access_key_id:
            options["access_key_id"] = settings.s3_access_key_id
        if settings.s3_secret_access_key:
            options["secret_access_key"] = settings.s3_secret_access_key
        store = S3Store(
            bucket,
            region=settings.s3_region,
            retry_config=RETRY,  # type: ignore[arg-type]
            client_options={
                "allow_http": bool(settings.s3_endpoint and settings.s3_endpoint.startswith("http:"))
            },
            **options,
        )
        prefix = prefix.strip("/")
        return cls(store, f"{prefix}/" if prefix else "", settings.blob_max_size, f"s3://{bucket}")

    @contextlib.contextmanager
    def _reached(self) -> Iterator[None]:
        try:
            yield
        except (NotFoundError, FileNotFoundError):
            raise
        except (BaseError, OSError) as exc:
            raise ServiceUnavailable(f"the S3 blob store {self.where} is unavailable: {exc}") from None

    async def put(self, key: str, data: bytes) -> None:
        check_size(check_key(key), data, self.max_size)
        with self._reached():
            await obstore.put_async(self.store, self.prefix + key, bytes(data))

    async def get(self, key: str) -> bytes:
        check_key(key)
        try:
            with self._reached():
                found = await obstore.get_async(self.store, self.prefix + key)
                return bytes(await found.bytes_async())
        except (NotFoundError, FileNotFoundError):
            raise BlobNotFound(f"no blob {key!r} in {self.where}") from None

    async def delete(self, key: str) -> bool:
        check_key(key)
        try:  # S3 answers a DELETE of nothing with success: ask first, to say whether there was one
            with self._reached():
                await obstore.head_async(self.store, self.prefix + key)
        except (NotFoundError, FileNotFoundError):
            return False
        with self._reached():
            await obstore.delete_async(self.store, self.prefix + key)
        return True

    async def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        # obstore lists by whole path segments: list the folder the prefix is in, keep what starts
        # with it. The listing pages through the bucket (1,000 keys a request).
        wanted = self.prefix + prefix
        folder = wanted.rsplit("/", 1)[0] if "/" in wanted else None
        with self._reached():
            async for page in obstore.list(self.store, prefix=folder):
                for meta in page:
                    if meta["path"].startswith(wanted):
                        yield BlobInfo(meta["path"][len(self.prefix) :], meta["size"], meta["last_modified"])
