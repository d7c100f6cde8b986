"""The plugin over real HTTP: a `jobhost api` process, a `jobhost worker`, the shared Redis, a
migrated database and a real SMTP server. Watchlists, unsubscribe links, the admin routes, and
the host's password-reset mail going out synchronously through the `mail` service."""

import asyncio
import html
import re
import time

import pytest

from jobhost.testing import delivered
from jobhost_email.unsubscribe import Unsubscribe
from tests.plugins.email.test_alerts import FLYER, counts

pytestmark = pytest.mark.slow


async def wait_for_mail(server, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while len(server.received) < count:
        assert time.monotonic() < deadline, f"{len(server.received)} of {count} mails arrived"
        await asyncio.sleep(0.1)


def unsubscribe_link(message):
    text = message.get_body(("plain",)).get_content()
    return re.search(r"Stop deal alerts: (\S+)", text)[1]


async def test_a_watchlist_drives_alerts_until_its_unsubscribe_link_is_followed(stack):
    s = await stack()
    api = await s.start_api()
    ann = await s.user(api, "ann@example.com")
    bob = await s.user(api, "bob@example.com")
    s.start_worker()

    assert (await api.get("/api/email/watchlist", headers=ann)).json() == {"keywords": [], "alerts": True}
    put = await api.put("/api/email/watchlist", headers=ann, json={"keywords": ["Apple", " greek  yogurt"]})
    assert put.status_code == 200, put.text
    assert put.json() == {"keywords": ["apple", "greek yogurt"], "alerts": True}
    # Each user sees only their own watchlist.
    assert (await api.get("/api/email/watchlist", headers=bob)).json()["keywords"] == []
    assert (await api.put("/api/email/watchlist", headers=bob, json={"keywords": ["tea"]})).status_code == 200

    await s.host.emit("flyer.processed", FLYER, source="flyer_ocr")
    await wait_for_mail(s.smtp, 1)
    [alert] = s.smtp.received
    assert alert.recipients == ["ann@example.com"]
    link = unsubscribe_link(alert.message)
    assert alert.message["List-Unsubscribe"] == f"<{link}>"

    path = link.removeprefix("http://localhost:8000")
    tampered = await api.get(path[:-2] + "xx")
    assert tampered.status_code == 400
    assert "this unsubscribe link is damaged" in tampered.json()["detail"]
    # Opening the link (a person, or a mail scanner prefetching it) only asks to confirm.
    followed = await api.get(path)
    assert followed.status_code == 200 and followed.headers["content-type"].startswith("text/html")
    form = re.search(r'<form method="post" action="([^"]+)">', followed.text)
    assert form and html.unescape(form[1]) == path
    assert (await api.get("/api/email/watchlist", headers=ann)).json()["alerts"] is True
    confirmed = await api.post(html.unescape(form[1]), data={"List-Unsubscribe": "One-Click"})
    assert confirmed.status_code == 200 and "no more deal alerts" in confirmed.text
    assert (await api.get("/api/email/watchlist", headers=ann)).json()["alerts"] is False

    event = await s.host.emit("flyer.processed", {**FLYER, "flyer_id": "f-1002"}, source="flyer_ocr")
    assert [job.state for job in await delivered(s.host, event)] == ["completed"]
    # The event queued nothing: the one job on the queue is the first alert.
    assert sum((await counts(s)).values()) == 1
    assert len(s.smtp.received) == 1

    # RFC 8058 one-click: the mail client POSTs to the same link.
    token = path.partition("token=")[2]
    one_click = await api.post(
        f"/api/email/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200, one_click.text
    back_on = await api.put("/api/email/watchlist", headers=ann, json={"keywords": ["apple"], "alerts": True})
    assert back_on.json() == {"keywords": ["apple"], "alerts": True}


async def test_watchlist_requests_are_checked(stack):
    s = await stack()
    api = await s.start_api()
    ann = await s.user(api, "ann@example.com")

    assert (await api.get("/api/email/watchlist")).status_code == 401
    assert (await api.put("/api/email/watchlist", json={"keywords": ["x"]})).status_code == 401
    blank = await api.put("/api/email/watchlist", headers=ann, json={"keywords": ["milk", "  "]})
    assert blank.status_code == 400
    assert "keywords[1] must be 1 to 60 characters" in blank.json()["detail"]
    wrong_type = await api.put("/api/email/watchlist", headers=ann, json={"keywords": "milk"})
    assert wrong_type.status_code == 400 and "keywords" in wrong_type.text
    missing = await api.get("/api/email/unsubscribe")
    assert missing.status_code == 400 and "token" in missing.json()["detail"]
    assert (await api.get("/api/email/watchlist", headers=ann)).json()["keywords"] == []


async def test_admins_see_the_status_and_send_a_test_message(stack):
    s = await stack(refuse={"gone@example.com": "550 5.1.1 <gone@example.com>: user unknown"})
    api = await s.start_api()
    admin = await s.user(api, "admin@example.com", admin=True)
    ann = await s.user(api, "ann@example.com")

    assert (await api.get("/api/admin/email/status", headers=ann)).status_code == 403
    assert (
        await api.post("/api/admin/email/test", headers=ann, json={"to": "x@example.com"})
    ).status_code == 403

    sent = await api.post("/api/admin/email/test", headers=admin, json={"to": "ops@example.com"})
    assert sent.status_code == 200, sent.text
    [got] = s.smtp.received
    assert got.message["Message-ID"] == sent.json()["message_id"]
    assert "on request of admin@example.com" in got.message.get_body(("plain",)).get_content()

    refused = await api.post("/api/admin/email/test", headers=admin, json={"to": "gone@example.com"})
    assert refused.status_code == 400  # the address is at fault: the server is there and answered
    assert "550 5.1.1 <gone@example.com>: user unknown" in refused.json()["detail"]
    bad = await api.post("/api/admin/email/test", headers=admin, json={"to": "not an address"})
    assert bad.status_code == 400 and "mail field 'to'" in bad.json()["detail"]

    status = (await api.get("/api/admin/email/status", headers=admin)).json()
    assert status["server"] == f"127.0.0.1:{s.smtp.port}"
    assert (status["sent"], status["failed"]) == (1, 1)
    assert "550 5.1.1" in status["recent_failures"][0]["reply"]


async def test_the_password_reset_mail_is_sent_before_the_request_answers(stack):
    s = await stack()
    api = await s.start_api()
    await s.user(api, "ann@example.com")

    answer = await api.post("/api/auth/password-reset/request", json={"email": "ann@example.com"})
    assert answer.status_code == 202, answer.text
    # No waiting: the mail went out synchronously, not through the queue (no worker runs).
    [got] = s.smtp.received
    assert got.recipients == ["ann@example.com"]
    assert got.message["Subject"] == "Reset your password"


async def test_a_password_reset_the_mail_server_defers_is_queued_and_answered_as_any_other(stack):
    s = await stack(data_answers=("451 4.3.0 try again later",))
    api = await s.start_api()
    await s.user(api, "ann@example.com")
    answer = await api.post("/api/auth/password-reset/request", json={"email": "ann@example.com"})
    unknown = await api.post("/api/auth/password-reset/request", json={"email": "nobody@example.com"})
    # Nothing tells the address exists, or where the mail server is.
    assert (answer.status_code, answer.text) == (unknown.status_code, unknown.text)
    assert answer.status_code == 202 and "451" not in answer.text and str(s.smtp.port) not in answer.text
    assert s.smtp.received == []
    # The very mail waits on the queue; a worker delivers it.
    s.start_worker()
    async with asyncio.timeout(60):
        while not s.smtp.received:
            await asyncio.sleep(0.1)
    [got] = s.smtp.received
    assert got.recipients == ["ann@example.com"] and got.message["Subject"] == "Reset your password"


async def test_without_a_secret_key_the_worker_signs_with_a_generated_key_the_api_checks(stack):
    """The deployment of the README with JOBHOST_SECRET_KEY unset: the `jobhost worker` process
    generates the key as it sends the alert, and the `jobhost api` process finds the same one."""
    s = await stack(env={"JOBHOST_SECRET_KEY": ""})
    api = await s.start_api()
    ann = await s.user(api, "ann@example.com")
    assert (
        await api.put("/api/email/watchlist", headers=ann, json={"keywords": ["apple"]})
    ).status_code == 200
    s.start_worker()
    event = await s.host.emit("flyer.processed", FLYER, source="flyer_ocr")
    await wait_for_mail(s.smtp, 1)
    assert [job.state for job in await delivered(s.host, event)] == ["completed"]
    link = unsubscribe_link(s.smtp.received[0].message).removeprefix("http://localhost:8000")
    followed = await api.get(link)
    assert followed.status_code == 200 and '<form method="post"' in followed.text
    assert len((await s.host.secret_keys()).verifying) == 1  # one key for the whole deployment
    assert (await Unsubscribe.of(s.host)).user_id(link.partition("token=")[2]) is not None
