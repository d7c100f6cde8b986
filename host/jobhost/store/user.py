"""The user a request is made by: what route handlers see of an account."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class User:
    """The user a request is made by (route handlers declare `user: User`)."""

    id: int
    email: str
    is_admin: bool = False
    read_only: bool = False  # an on-call viewer: sees the admin dashboard, acts on nothing

    @property
    def sees_admin(self) -> bool:
        """May look at admin pages (an admin, or a read-only user)."""
        return self.is_admin or self.read_only

    @property
    def owner(self) -> str:
        """The `owner` of the jobs this user enqueues."""
        return str(self.id)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "is_admin": self.is_admin, "read_only": self.read_only}
