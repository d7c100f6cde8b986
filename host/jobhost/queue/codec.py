"""JSON in and out of Redis: payloads and results are JSON, never pickle.

`check` walks a value before it is stored, so a datetime or a set is refused with the path of
the field that holds it instead of being turned silently into a string.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class NotJSON(TypeError):
    """A value has a part JSON cannot carry; the message names its path."""


def check(value: Any, path: str) -> None:
    """Raise NotJSON naming the first part of `value` (at `path`) that is not plain JSON."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJSON(f"{path} is {value!r}, which JSON cannot carry")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotJSON(f"{path} has the key {key!r}; JSON object keys must be strings")
            check(item, f"{path}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]")
        return
    raise NotJSON(
        f"{path} is a {type(value).__name__}, not JSON (use str, int, float, bool, None, list or dict)"
    )


def dumps(value: Any) -> str:
    return _encoder.encode(value).decode()


def loads(text: str | bytes) -> Any:
    return _decoder.decode(text)
