"""A password-reset request tells nothing about which addresses have accounts: the same status
and body, and the same time to answer, for known and unknown addresses, with the mail server up
and down; the answer never shows the mail server's address."""

from __future__ import annotations

import socket
import statistics
import time

import pytest

from tests.http.test_password_reset import mail_env

TRIES = 50
PATH = "/api/auth/password-reset/request"


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused, as with a mail server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def timed(api, email: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    answer = await api.client.post(PATH, json={"email": email})
    return time.perf_counter() - start, answer.status_code, answer.content


@pytest.mark.parametrize("smtp_up", [True, False], ids=["smtp-up", "smtp-down"])
async def test_known_and_unknown_addresses_get_the_same_answer_in_the_same_time(make_api, smtp, smtp_up):
    inbox, port = smtp
    port = port if smtp_up else closed_port()
    env = {
        **mail_env(port),
        "JOBHOST_PASSWORD_RESET_ANSWER_TIME": "150ms",
        "JOBHOST_LOGIN_ADDRESS_LIMIT": "1000/min",
        "JOBHOST_PASSWORD_RESET_ACCOUNT_LIMIT": "1000/h",
    }
    async with make_api(installed=("email",), **env) as api:
        await api.user("ann@example.org")
        await timed(api, "warm-up@example.org")
        known, unknown = [], []
        for _ in range(TRIES):
            known.append(await timed(api, "ann@example.org"))
            unknown.append(await timed(api, "nobody@example.org"))

        answers = {(status, body) for _, status, body in known + unknown}
        assert len(answers) == 1, answers
        ((status, body),) = answers
        assert status == 202
        assert b"127.0.0.1" not in body and str(port).encode() not in body
        gap = statistics.median(t for t, _, _ in known) - statistics.median(t for t, _, _ in unknown)
        assert abs(gap) < 0.001, f"known addresses answered {gap * 1000:+.2f} ms slower at the median"

        if smtp_up:  # sent before the answer
            assert len(inbox.messages) == TRIES
            assert {m["To"] for m in inbox.messages} == {"ann@example.org"}
        else:  # queued for the mail queue's retries, none lost
            assert (await api.host.engine.counts("email-sending"))["waiting"] == TRIES
