"""Bounds on what a request carries, checked for every route (the host's and every plugin's)
before its handler runs, so a malformed input gets a 400 naming its field, never a 500.

- Whole numbers in the path, the query and JSON bodies are within ±(2**53 - 1), what every JSON
  client holds exactly: both databases refuse numbers beyond 64 bits (SQLite with an
  OverflowError, PostgreSQL with an out-of-range error), and this leaves a route room to
  compute with them (an offset of `page * per_page`) without reaching that.
- Text holds no NUL character (PostgreSQL cannot store one) and no bidirectional override or
  isolate (U+202A-U+202E, U+2066-U+2069), which make a name shown back read as another.
- JSON bodies nest at most MAX_DEPTH deep: msgspec recurses on deeper ones until RecursionError.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

INT_MIN, INT_MAX = -(2**53 - 1), 2**53 - 1
MAX_DEPTH = 32
_DIGITS = re.compile(r"[+-]?[0-9]+")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


class InvalidInput(ClientException):
    """400 naming the field and the rule it breaks."""


def _is_int(field: FieldDefinition) -> bool:
    types = field.inner_types if field.is_optional else (field,)
    return any(t.is_subclass_of(int) and not t.is_subclass_of(bool) for t in types)


@functools.cache
def _parameters(handler: BaseRouteHandler) -> tuple[tuple[str, str, bool], ...]:
    """(name, query name, is a whole number) of each path or query parameter of the handler."""
    dependencies = handler.resolve_dependencies()
    found = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if name in dependencies or not isinstance(kwarg, ParameterKwarg) or kwarg.header or kwarg.cookie:
            continue  # a dependency, the body, a header or a cookie
        found.append((name, kwarg.query or name, _is_int(field)))
    return tuple(found)


def _check_int(field: str, value: Any) -> None:
    number = value if isinstance(value, int) else int(value) if _DIGITS.fullmatch(value) else None
    if number is not None and not INT_MIN <= number <= INT_MAX:
        raise InvalidInput(f"{field} must be a whole number from {INT_MIN} to {INT_MAX}")


def _check_text(field: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters")
    if found := _BIDI_CONTROLS.search(value):
        raise InvalidInput(
            f"{field} must not contain bidirectional control characters (U+{ord(found[0]):04X})"
        )


async def parameter_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Path and query parameters: whole numbers in range, no NUL in text."""
    for name, query, whole in _parameters(handler):
        if name in connection.path_params:
            field, values = f"path parameter {name!r}", [connection.path_params[name]]
        else:
            field, values = f"query parameter {query!r}", connection.query_params.getall(query, [])
        for value in values:
            if isinstance(value, str):
                _check_text(field, value)
            if whole:
                _check_int(field, value)


def check_json(value: Any) -> Any:
    """`value` (a decoded JSON body) if it keeps the bounds; else InvalidInput naming the field."""
    pending: list[tuple[str, Any, int]] = [("body", value, 0)]
    while pending:
        field, item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{field}: JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            _check_text(field, item)
        elif isinstance(item, int) and not isinstance(item, bool):
            _check_int(field, item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(f"{field} key {key!r}", key)
                pending.append((f"{field}.{key}", child, depth + 1))
        elif isinstance(item, list):
            pending.extend((f"{field}[{i}]", child, depth + 1) for i, child in enumerate(item))
    return value


class BoundedRequest(Request[Any, Any, Any]):
    """The app's request class: JSON bodies are checked by `check_json` once decoded."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:  # msgspec's own limit, far beyond ours
            raise InvalidInput(f"body: JSON nested deeper than {MAX_DEPTH} levels") from None
        return check_json(value)
