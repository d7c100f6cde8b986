"""Blobs as files in one local folder (UPLOAD_DIR): the embedded default, for one machine.

A key is a path under the folder, opened directory by directory with `O_NOFOLLOW`, so a
symbolic link anywhere below the folder is never followed: reads, writes and deletes stay
inside it. A put writes into the scratch folder `tmp/` and renames into place, so a reader never
sees half a file and a write cut short leaves its part in `tmp/`, which the cleanup plugin
sweeps. `tmp` is therefore no key's first segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from jobhost.store.blobs import FOLDER, BlobError, BlobInfo, BlobNotFound, check_key, check_size

SCRATCH = "tmp"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FolderBlobs:
    """Blobs under `root`; `root` itself may be a link the operator made, nothing below it is."""

    kind = FOLDER

    def __init__(self, root: Path, max_size: int) -> None:
        self.root = Path(root)
        self.max_size = max_size

    def _key(self, key: str) -> list[str]:
        parts = check_key(key).split("/")
        if parts[0] == SCRATCH:
            raise BlobError(f"blob key {key!r} is invalid: {SCRATCH}/ is the folder store's scratch folder")
        return parts

    @contextlib.contextmanager
    def _parent(self, parts: list[str], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the directory holding the key's last segment, reached without links."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root.resolve(), _DIR_FLAGS)
        try:
            for part in parts[:-1]:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise BlobError(f"{self.root}: {part!r} is a link or a file, not a folder") from None
                    raise
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def put_sync(self, key: str, data: bytes) -> None:
        check_size(key, data, self.max_size)
        parts = self._key(key)
        scratch = self.root / SCRATCH
        scratch.mkdir(parents=True, exist_ok=True)
        partial = f"blob-{uuid.uuid4().hex}.part"
        scratch_fd = os.open(scratch.resolve(), _DIR_FLAGS)
        try:
            written = os.open(
                partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640, dir_fd=scratch_fd
            )
            try:
                with os.fdopen(written, "wb") as out:
                    out.write(data)
                with self._parent(parts, create=True) as parent:
                    os.replace(partial, parts[-1], src_dir_fd=scratch_fd, dst_dir_fd=parent)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(partial, dir_fd=scratch_fd)
                raise
        finally:
            os.close(scratch_fd)

    def get_sync(self, key: str) -> bytes:
        parts = self._key(key)
        try:
            with self._parent(parts) as parent:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {key!r} in {self.root}") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise BlobNotFound(f"{key!r} in {self.root} is a symbolic link, not a stored blob") from None
            raise
        with os.fdopen(fd, "rb") as stored:
            return stored.read()

    def delete_sync(self, key: str) -> bool:
        parts = self._key(key)
        try:
            with self._parent(parts) as parent:
                st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    return False  # a link or a folder is no blob: left alone
                os.unlink(parts[-1], dir_fd=parent)
        except FileNotFoundError:
            return False
        return True

    def scan_sync(self, prefix: str) -> list[BlobInfo]:
        """Regular files only: links are not blobs (never listed, so never deleted through here)."""
        found: list[BlobInfo] = []
        try:
            root = self.root.resolve(strict=True)
        except FileNotFoundError:
            return found
        for dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
            relative = os.path.relpath(dirpath, root)
            if relative == ".":
                dirnames[:] = [d for d in dirnames if d != SCRATCH]
            for name in filenames:
                key = name if relative == "." else f"{relative}/{name}"
                if not key.startswith(prefix):
                    continue
                try:
                    self._key(key)
                    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                except (BlobError, FileNotFoundError):
                    continue  # not a name a put makes, or gone meanwhile
                if stat.S_ISREG(st.st_mode):
                    moment = datetime.fromtimestamp(max(st.st_mtime, st.st_ctime), UTC)
                    found.append(BlobInfo(key, st.st_size, moment))
        return sorted(found, key=lambda info: info.key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self.put_sync, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, key)

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self.delete_sync, key)

    async def scan(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        for info in await asyncio.to_thread(self.scan_sync, prefix):
            yield info
