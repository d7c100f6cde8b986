"""Where uploaded flyers are kept: the host's blob store, under keys we make, never the client's
file name, so every worker reads the file the API took in (`host.blobs`)."""

from __future__ import annotations

import uuid

# Extensions by sniffed kind; keys are `flyer-<32 hex>.<ext>` (at the store's top, where the
# folder store kept them before it was one).
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "tiff": "tif", "pdf": "pdf"}
PREFIX = "flyer-"


def new_key(kind: str) -> str:
    """A fresh blob key for an upload of `kind`."""
    return f"{PREFIX}{uuid.uuid4().hex}.{EXTENSIONS[kind]}"
