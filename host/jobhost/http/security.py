"""Security headers on every answer: no MIME sniffing, no framing, no referrer, and a
Content-Security-Policy that lets pages load only what this server serves.

CSP is the one place to adjust when a page needs more (the dashboard and `/schema` serve their
scripts and styles themselves, so 'self' is all they need).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def security_headers(message: Message, _: Scope) -> None:
    """Litestar's `before_send` hook (it sees every answer, 404s for unknown paths included):
    HEADERS on each that does not set them itself."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            if name not in headers:
                headers[name] = value
