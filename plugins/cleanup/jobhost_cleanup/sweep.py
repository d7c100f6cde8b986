"""Deleting old temporary files from one folder: plain functions on the file system.

The walk uses directory file descriptors (`os.fwalk`) and never follows a symbolic link: a link
in the folder is an entry like a file (an old one is unlinked, its target untouched), and a
directory swapped for a link mid-walk is not entered. The folder itself is never deleted.

A file's age counts from the later of its modification and status-change times, so a file just
moved into the folder (`rename` keeps its old modification time) is young. A sub-folder goes
when it was old before the sweep and is empty after it; a fresh empty one may be in use.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import attrs

# The job result lists at most this many removed paths; the counts are always whole.
LISTED = 200


class SweepError(ValueError):
    """The folder cannot be swept (it is a link or a file); the message says what to fix."""


@attrs.define
class Sweep:
    """What one sweep removed (paths relative to the folder) and what it could not remove."""

    folder: str
    max_age: float
    files: int = 0
    directories: int = 0
    bytes: int = 0
    removed: list[str] = attrs.field(factory=list)
    failed: list[dict[str, str]] = attrs.field(factory=list)

    def _removed(self, path: str) -> None:
        if len(self.removed) < LISTED:
            self.removed.append(path)

    def as_dict(self) -> dict[str, Any]:
        count = self.files + self.directories
        return {
            "folder": self.folder,
            "max_age_seconds": self.max_age,
            "files": self.files,
            "directories": self.directories,
            "bytes": self.bytes,
            "removed": self.removed,
            "unlisted": count - len(self.removed),
            "failed": self.failed,
        }


def _age(st: os.stat_result, now: float) -> float:
    return now - max(st.st_mtime, st.st_ctime)


def _rmdir_if_empty(name: str, dirfd: int) -> bool:
    try:
        os.rmdir(name, dir_fd=dirfd)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False  # something young is still in it
        raise
    return True


def sweep(folder: Path, max_age: float, now: float, *, dry_run: bool = False) -> Sweep:
    """Delete what under `folder` is older than `max_age` seconds at time `now`; a dry run
    deletes nothing and reports the same."""
    result = Sweep(str(folder), max_age)
    try:
        top = folder.lstat()
    except FileNotFoundError:
        return result  # nothing was ever written there
    if stat.S_ISLNK(top.st_mode):
        raise SweepError(
            f"{folder} is a symbolic link; cleanup never follows links, so point UPLOAD_DIR at a real "
            "folder (the temporary files are in its tmp/ sub-folder)"
        )
    if not stat.S_ISDIR(top.st_mode):
        raise SweepError(f"{folder} is a file, not the folder for temporary files; move it away")

    def failed(path: str, exc: OSError) -> None:
        result.failed.append({"path": path, "error": exc.strerror or str(exc)})

    def walk_error(exc: OSError) -> None:
        failed(os.path.relpath(exc.filename, folder) if exc.filename else ".", exc)

    # Directories (by device and inode) that were old before anything in them was removed.
    # Bottom-up, a directory is met before anything directly in it changes, its children first.
    # A dry run removes nothing, so it remembers which directories it would have emptied.
    old_dirs: set[tuple[int, int]] = set()
    emptied: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames, dirfd in os.fwalk(
        folder, topdown=False, follow_symlinks=False, onerror=walk_error
    ):
        own = os.fstat(dirfd)
        if _age(own, now) > max_age:
            old_dirs.add((own.st_dev, own.st_ino))
        kept = 0
        for name in [*dirnames, *filenames]:
            path = os.path.relpath(os.path.join(dirpath, name), folder)
            kept += 1
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    inode = (st.st_dev, st.st_ino)
                    if inode in old_dirs and (inode in emptied if dry_run else _rmdir_if_empty(name, dirfd)):
                        kept -= 1
                        result.directories += 1
                        result._removed(path + "/")
                elif _age(st, now) > max_age:
                    if not dry_run:
                        os.unlink(name, dir_fd=dirfd)
                    kept -= 1
                    result.files += 1
                    result.bytes += st.st_size
                    result._removed(path)
            except FileNotFoundError:
                kept -= 1
                continue  # another sweep got there first
            except OSError as exc:
                failed(path, exc)
        if not kept:
            emptied.add((own.st_dev, own.st_ino))
    return result
