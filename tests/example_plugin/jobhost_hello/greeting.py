"""The plugin's real work, a plain function testable without Redis or HTTP."""

from __future__ import annotations


def greeting(name: str, *, shout: bool = False) -> str:
    if not name.strip():
        raise ValueError("name must not be empty")
    text = f"Hello, {name.strip()}!"
    return text.upper() if shout else text
