"""Where uploaded flyers are kept: UPLOAD_DIR, under names we make, never the client's."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

# Extensions by sniffed kind; names are `flyer-<32 hex>.<ext>` and nothing else is ever read.
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "tiff": "tif", "pdf": "pdf"}
_STORED = re.compile(r"^flyer-[0-9a-f]{32}\.(?:png|jpg|webp|tif|pdf)$")


class UploadFolder:
    """Uploaded files in one folder, written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not _STORED.match(name):
            raise ValueError(f"{name!r} is not a stored flyer name")
        return self.root / name

    def save(self, data: bytes, kind: str) -> str:
        """Store `data` under a fresh name and return the name."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"flyer-{uuid.uuid4().hex}.{EXTENSIONS[kind]}"
        partial = self.root / f".{name}.part"
        try:
            partial.write_bytes(data)
            os.replace(partial, self._path(name))  # readers never see half a file
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return name

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)
