"""The search index: a queue's jobs by id, task name or declared payload field, without a scan.

One sorted set per queue (`<base>search`) with every score 0, so Redis orders it by member
bytes. A job adds one member per indexed value: `<field>\\0<value>\\0<created ms>\\0<job id>`.
The task name is the field `@task`; the payload fields are the ones the queue's plugin names in
`QueuePolicy.search_fields` (top-level kwargs; a list indexes each of its scalars). A search term
is one ZRANGEBYLEX range: `field=value` is every member starting `field\\0value\\0` (in creation
order, since the time comes next), `field:prefix` every member starting `field\\0prefix`.
ZLEXCOUNT counts a range in O(log n), so paging and totals cost no scan. Values are lower-cased
and cut to MAX_VALUE characters. A job's record lists its members (`ix`), so every Lua path that
deletes a job (remove, clean, trim, retention) takes them along (`drop` in prelude.lua).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from jobhost.policy import QueuePolicy
from jobhost.queue.errors import JobInputError

TASK_FIELD = "@task"
MAX_VALUE = 100
MAX_TERMS = 5
# A search with several terms checks at most this many candidates of its narrowest term, CHUNK
# at a time, stopping once it has the page it was asked for.
MAX_CANDIDATES = 5000
CHUNK = 500
_TERM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)([=:])(.*)$")
_HEX_ID = re.compile(r"^[0-9a-f]{16}$")


def _value(value: Any) -> str | None:
    """How a scalar is indexed and searched (None for what is not a scalar)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return None
    return text.lower().replace("\0", "").replace("\n", " ")[:MAX_VALUE]


def terms(policy: QueuePolicy, task: str, kwargs: dict[str, Any]) -> list[str]:
    """The `<field>\\0<value>` strings a job of `task` with `kwargs` is indexed under."""
    found = [f"{TASK_FIELD}\0{task.lower()}"]
    for field in policy.search_fields:
        raw = kwargs.get(field)
        for item in raw if isinstance(raw, list) else [raw]:
            value = _value(item)
            if value:
                found.append(f"{field}\0{value}")
    return list(dict.fromkeys(found))


@attrs.frozen
class Term:
    """One condition: `field` equals `value` (exact) or starts with it."""

    field: str
    value: str
    exact: bool

    @property
    def lex_range(self) -> tuple[bytes, bytes]:
        start = f"{self.field}\0{self.value}" + ("\0" if self.exact else "")
        raw = start.encode()
        return b"[" + raw, b"[" + raw + b"\xff"  # UTF-8 never has a 0xff byte

    def matches(self, member: str) -> bool:
        field, _, rest = member.partition("\0")
        value = rest.rsplit("\0", 2)[0]
        return field == self.field and (value == self.value if self.exact else value.startswith(self.value))


@attrs.frozen
class Query:
    """A parsed search: a job id, or terms that all must hold."""

    job_id: str | None = None
    terms: tuple[Term, ...] = ()


def parse(queue: str, policy: QueuePolicy, text: str) -> Query:
    """Read a search box: `flyer_id=42`, `to:bob@`, `task=email.send`, a job id, or a task prefix.

    Several terms separated by spaces must all match. An unknown field is a JobInputError that
    names the fields the queue indexes.
    """
    words = text.split()
    if not words:
        raise JobInputError("search: give a job id, a task name or field=value")
    if len(words) > MAX_TERMS:
        raise JobInputError(f"search: at most {MAX_TERMS} terms, got {len(words)}")
    found: list[Term] = []
    for word in words:
        if word.startswith(f"{queue}:") and _HEX_ID.match(word[len(queue) + 1 :]):
            return Query(job_id=word)
        if _HEX_ID.match(word):
            return Query(job_id=f"{queue}:{word}")
        match = _TERM.match(word)
        if match is None:
            found.append(Term(TASK_FIELD, word.lower()[:MAX_VALUE], exact=False))
            continue
        field, op, value = match.groups()
        if field in ("task", "name"):
            field = TASK_FIELD
        elif field not in policy.search_fields:
            indexed = ", ".join(("task", *policy.search_fields))
            raise JobInputError(f"search: queue {queue!r} does not index {field!r}; searchable: {indexed}")
        value = _value(value) or ""
        if not value:
            raise JobInputError(f"search: {word!r} needs a value after {op!r}")
        found.append(Term(field, value, exact=op == "="))
    return Query(terms=tuple(found))


def job_id_of(member: str) -> str:
    return member.rsplit("\0", 1)[1]


def narrowest(terms: Sequence[Term], counts: Iterable[int]) -> tuple[Term, int]:
    """The term with the fewest matches, and how many."""
    return min(zip(terms, counts, strict=True), key=lambda pair: pair[1])
