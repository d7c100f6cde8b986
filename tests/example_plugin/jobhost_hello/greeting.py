"""The plugin's real work, a plain function testable without Redis or HTTP."""

from __future__ import annotations

MAX_NAME = 100


def greeting(name: str, *, shout: bool = False) -> str:
    name = name.strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > MAX_NAME:
        raise ValueError(f"name must be at most {MAX_NAME} characters, got {len(name)}")
    text = f"Hello, {name}!"
    return text.upper() if shout else text
