"""The plugin's HTTP face: a user's watchlist, the unsubscribe link, and the admin status and test."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import attrs
from litestar import MediaType, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, JSONBody

from jobhost import Host, User
from jobhost_email.mail import InvalidMail
from jobhost_email.smtp import MailFailure, RecipientRefused
from jobhost_email.templates import render
from jobhost_email.unsubscribe import PATH as UNSUBSCRIBE_PATH
from jobhost_email.unsubscribe import Unsubscribe
from jobhost_email.watchlist import WatchlistError, Watchlists


@attrs.frozen
class WatchlistIn:
    keywords: list[str]
    # True or False turns alerts on or off; left out, it stays as it is (on for a new watchlist).
    alerts: bool | None = None


@attrs.frozen
class WatchlistOut:
    keywords: list[str]
    alerts: bool


@attrs.frozen
class TestMailIn:
    to: str


@attrs.frozen
class TestMailOut:
    message_id: str
    to: str
    detail: str


@get("/api/email/watchlist", summary="Your deal-alert keywords, and whether alerts are on")
async def get_watchlist(host: NamedDependency[Host], user: NamedDependency[User]) -> WatchlistOut:
    found = await Watchlists(host.db).get(user.id)
    return WatchlistOut([], True) if found is None else WatchlistOut(list(found.keywords), found.alerts)


@put("/api/email/watchlist", summary="Replace your deal-alert keywords (and turn alerts on or off)")
async def put_watchlist(
    host: NamedDependency[Host], user: NamedDependency[User], data: JSONBody[WatchlistIn]
) -> WatchlistOut:
    try:
        saved = await Watchlists(host.db).put(user.id, user.email, data.keywords, data.alerts)
    except WatchlistError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return WatchlistOut(list(saved.keywords), saved.alerts)


async def _subscriber(host: Host, token: str) -> int:
    user_id = (await Unsubscribe.of(host)).user_id(token)
    if user_id is None:
        raise HTTPException(
            status_code=400,
            detail="this unsubscribe link is damaged or not ours; open the link from the mail as a whole, "
            "or turn alerts off with PUT /api/email/watchlist",
        )
    return user_id


_PAGE = "<!DOCTYPE html><html><head><title>Deal alerts</title></head><body>{}</body></html>"


@get(
    UNSUBSCRIBE_PATH,
    media_type=MediaType.HTML,
    summary="The unsubscribe link of every alert: a page asking to confirm; changes nothing",
    description="Link scanners and prefetchers open links too, so a GET only shows a button "
    "that POSTs to the same link.",
)
async def unsubscribe_link(host: NamedDependency[Host], token: FromQuery[str]) -> str:
    await _subscriber(host, token)
    action = html.escape(f"{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}")
    return _PAGE.format(
        "<p>Stop getting deal alerts by mail?</p>"
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Stop deal alerts</button></form>'
    )


@post(
    UNSUBSCRIBE_PATH,
    status_code=200,
    media_type=MediaType.HTML,
    summary="Stop deal alerts: one-click unsubscribe (RFC 8058) and the confirmation page's button",
)
async def unsubscribe_one_click(host: NamedDependency[Host], token: FromQuery[str]) -> str:
    await Watchlists(host.db).unsubscribe(await _subscriber(host, token))
    return _PAGE.format(
        "<p>You will get no more deal alerts.</p><p>To get them again, turn alerts on in your watchlist.</p>"
    )


@get("/email/status", summary="Mail server in use, sent and failed counts, the latest failures")
async def email_status(host: NamedDependency[Host]) -> dict[str, Any]:
    return await host.service("mail").status()


@post("/email/test", status_code=200, summary="Send a test message now and report the server's answer")
async def email_test(
    host: NamedDependency[Host], user: NamedDependency[User], data: JSONBody[TestMailIn]
) -> TestMailOut:
    mail = host.service("mail")
    text, html = render(
        "test_message",
        server=mail.config.server,
        requested_by=user.email,
        sent_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    try:
        message_id = await mail.send(data.to, "jobhost test message", text, html)
    except (InvalidMail, RecipientRefused) as exc:  # the address, not the server, is at fault
        raise HTTPException(status_code=400, detail=str(exc)) from None
    except MailFailure as failure:
        # The request was fine; the mail server was not: unavailable, with its reply.
        raise HTTPException(status_code=503, detail=str(failure)) from None
    return TestMailOut(message_id, data.to, "the mail server accepted the test message")
