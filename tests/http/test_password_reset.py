"""Password reset through the email plugin's mail service, to a real SMTP server on loopback."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.http.conftest import PASSWORD


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_env(port: int) -> dict[str, str]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "noreply@example.org",
        "JOBHOST_PASSWORD_RESET_URL": "https://app.example.org/reset?token={token}",
    }


async def test_reset_mails_a_link_and_the_token_sets_a_new_password(make_api, smtp):
    inbox, port = smtp
    async with make_api(installed=("email",), **mail_env(port)) as api:
        await api.user("ann@example.org")
        known = await api.client.post("/api/auth/password-reset/request", json={"email": "Ann@example.org"})
        unknown = await api.client.post("/api/auth/password-reset/request", json={"email": "x@example.org"})
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()  # no telling whether the address exists
        assert len(inbox.messages) == 1  # sent before the answer: no waiting, no queue
        message = inbox.messages[0]
        assert message["To"] == "ann@example.org"
        token = re.search(r"reset\?token=(\S+)", message.get_payload(decode=True).decode())[1]

        confirm = "/api/auth/password-reset/confirm"
        weak = await api.client.post(confirm, json={"token": token, "password": "x"})
        assert weak.status_code == 400 and "at least 8" in weak.json()["detail"]
        done = await api.client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "brand-new-pass"}
        )
        assert done.status_code == 200
        spent = await api.client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "another-pass"}
        )
        assert spent.status_code == 400 and "invalid, used or expired" in spent.json()["detail"]

        login = "/api/auth/login"
        old = await api.client.post(login, json={"email": "ann@example.org", "password": PASSWORD})
        assert old.status_code == 401
        new = await api.client.post(login, json={"email": "ann@example.org", "password": "brand-new-pass"})
        assert new.status_code == 200


async def test_without_a_mail_service_reset_answers_503_saying_why(make_api):
    async with make_api() as api:
        await api.user("ann@example.org")
        answer = await api.client.post("/api/auth/password-reset/request", json={"email": "ann@example.org"})
        assert answer.status_code == 503
        assert "password reset needs the mail service" in answer.json()["detail"]
        assert "'mail' service" in answer.json()["detail"]


async def test_only_the_newest_reset_token_works_and_each_account_gets_few_mails(make_api, smtp):
    inbox, port = smtp
    env = {**mail_env(port), "JOBHOST_PASSWORD_RESET_ACCOUNT_LIMIT": "2/h"}
    async with make_api(installed=("email",), **env) as api:
        await api.user("ann@example.org")
        answers = [
            await api.client.post("/api/auth/password-reset/request", json={"email": "ann@example.org"})
            for _ in range(3)
        ]
        assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
        assert len(inbox.messages) == 2  # the third request is over the account's limit: no mail
        first, second = (
            re.search(r"reset\?token=(\S+)", m.get_payload(decode=True).decode())[1] for m in inbox.messages
        )
        confirm = "/api/auth/password-reset/confirm"
        stale = await api.client.post(confirm, json={"token": first, "password": "brand-new-pass"})
        assert stale.status_code == 400 and "invalid, used or expired" in stale.json()["detail"]
        fresh = await api.client.post(confirm, json={"token": second, "password": "brand-new-pass"})
        assert fresh.status_code == 200
