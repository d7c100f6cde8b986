"""What a plugin hands the cleanup plugin to sweep (`register_cleanup`): a folder of temporary
files, its uploads in the blob store, or a pruning function of its own.

The cleanup plugin applies one set of rules to all of them: folders are under UPLOAD_DIR (a
relative path without `..`, never a link), uploads are deleted through `host.blobs` by key and
only when their owner says they may go, and a dry run deletes nothing and reports the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from jobhost.host import Host

# `(host, keys, expired_before)` → for each key the plugin has a record of: True when it may go
# (its record is done with it since before `expired_before`), False when it must stay (waiting,
# being processed, recent). A key it has no record of is missing from the answer.
UploadOwners = Callable[["Host", Sequence[str], datetime], Awaitable[Mapping[str, bool]]]
# `(host, now, dry_run)` → how many rows (or things) went, or would go in a dry run.
Prune = Callable[["Host", datetime, bool], Awaitable[int]]


def _relative_folder(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or path == PurePosixPath("."):
        raise ValueError(f"{attribute.name} must be a folder under UPLOAD_DIR such as 'tmp', got {value!r}")


@attrs.frozen
class CleanupTarget:
    """One thing the cleanup plugin sweeps on `cleanup.files` (hourly, and `jobhost cleanup files`).

    Give exactly one of: `folder` (a path relative to UPLOAD_DIR; files older than `max_age`
    seconds go, default CLEANUP_FILE_MAX_AGE), `blob_prefix` with `owners` (uploads in the blob
    store whose keys start with the prefix), or `prune`.
    """

    name: str
    folder: str | None = attrs.field(default=None, validator=_relative_folder)
    max_age: float | None = None
    blob_prefix: str | None = None
    owners: UploadOwners | None = None
    prune: Prune | None = None

    def __attrs_post_init__(self) -> None:
        kinds = [self.folder is not None, self.blob_prefix is not None or self.owners is not None]
        kinds.append(self.prune is not None)
        if sum(kinds) != 1 or (kinds[1] and not (self.blob_prefix and self.owners)):
            raise ValueError(
                f"cleanup target {self.name!r}: give exactly one of folder=, blob_prefix= with owners=, "
                "or prune="
            )

    @property
    def kind(self) -> str:
        return "folder" if self.folder is not None else "uploads" if self.owners else "prune"
