"""The mail service: transactional sends, and a send job's delivery at most once per Message-ID."""

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from jobhost import RetryLater, ServiceUnavailable
from jobhost_email.ledger import Ledger
from jobhost_email.service import MailService
from jobhost_email.smtp import PermanentFailure, TemporaryFailure
from tests.plugins.email.conftest import DROP


@pytest.fixture
def service_for(ledger):
    return lambda server, **config: MailService(server.config(**config), ledger)


async def test_send_returns_the_message_id_once_the_server_accepted(smtp_server, service_for, ledger):
    server = smtp_server()
    service = service_for(server)
    message_id = await service.send("ann@example.com", "Reset your password", "Open this link", "<p>link</p>")

    [got] = server.received
    assert got.message["Message-ID"] == message_id
    assert message_id.endswith("@example.com>")  # the domain of MAIL_FROM
    assert got.message.get_body(("html",)).get_content() == "<p>link</p>\n"
    assert (await ledger.accepted(message_id)).recipients == ("ann@example.com",)


async def test_send_raises_the_servers_refusal(smtp_server, service_for, ledger):
    server = smtp_server(refuse={"gone@example.com": "550 5.1.1 user unknown"})
    with pytest.raises(PermanentFailure, match=r"550 5.1.1 user unknown"):
        await service_for(server).send("gone@example.com", "Reset", "text")
    status = await ledger.status()
    assert status["failed"] == 1
    assert (
        status["recent_failures"][0]["reply"]
        == "recipients refused: gone@example.com: 550 5.1.1 user unknown"
    )


async def test_a_job_retried_after_4xx_sends_the_same_message_once(smtp_server, service_for, ledger):
    server = smtp_server(data_answers=("451 4.7.1 Greylisted, try again later",))
    service = service_for(server)
    mail = service.compose("ann@example.com", "Deals", "text")

    with pytest.raises(TemporaryFailure, match=r"451 4.7.1 Greylisted"):
        await service.deliver(mail, holder="job-1", last_try=False)
    result = await service.deliver(mail, holder="job-1", last_try=False)

    assert result["already_sent"] is False and result["message_id"] == mail.message_id
    assert [r.message["Message-ID"] for r in server.received] == [mail.message_id]
    status = await ledger.status()
    assert (status["sent"], status["failed"], status["failed_tries"]) == (1, 0, 1)


async def test_a_temporary_failure_on_the_last_try_counts_as_failed(smtp_server, service_for, ledger):
    server = smtp_server(data_answers=("421 4.3.2 shutting down",))
    service = service_for(server)
    with pytest.raises(TemporaryFailure):
        await service.deliver(
            service.compose("ann@example.com", "Deals", "text"), holder="job-1", last_try=True
        )
    assert (await ledger.status())["failed"] == 1


async def test_a_job_retried_after_a_dropped_connection_delivers_exactly_once(smtp_server, service_for):
    server = smtp_server(data_answers=(DROP,))
    service = service_for(server)
    mail = service.compose("ann@example.com", "Deals", "text")
    with pytest.raises(TemporaryFailure):
        await service.deliver(mail, holder="job-1", last_try=False)
    await service.deliver(mail, holder="job-1", last_try=False)
    assert server.handler.data_tries == 2
    assert len(server.received) == 1


async def test_no_duplicate_when_a_try_dies_after_the_server_accepted(smtp_server, service_for, ledger):
    # The server takes the message, then hangs on QUIT; the try is killed there, as a job's
    # timeout or a worker crash would. The retry must find the acceptance and not send again.
    server = smtp_server(quit_delay=30)
    service = service_for(server, timeout=20)
    mail = service.compose("ann@example.com", "Deals", "text")

    first_try = asyncio.create_task(service.deliver(mail, holder="job-1", last_try=False))
    assert await asyncio.to_thread(server.handler.quit_seen.wait, 10)
    first_try.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first_try

    retry = await service.deliver(mail, holder="job-1", last_try=False)
    assert retry["already_sent"] is True
    assert retry["reply"] == "2.0.0 OK: queued as 4F2A"
    assert len(server.received) == 1


async def test_a_concurrent_duplicate_waits_then_finds_the_message_sent(smtp_server, service_for):
    # An event announced twice queues two jobs for one message; they may run at the same time.
    server = smtp_server(data_delay=2)
    service = service_for(server)
    mail = service.compose("ann@example.com", "Deals", "text")

    first = asyncio.create_task(service.deliver(mail, holder="job-1", last_try=False))
    assert await asyncio.to_thread(server.handler.data_seen.wait, 10)
    with pytest.raises(RetryLater, match=r"another job is sending <.*> right now") as busy:
        await service.deliver(mail, holder="job-2", last_try=False)
    assert 0 < busy.value.delay <= 10
    assert (await first)["already_sent"] is False
    assert (await service.deliver(mail, holder="job-2", last_try=False))["already_sent"] is True
    assert len(server.received) == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_many_concurrent_duplicates_send_one_message(smtp_server, service_for):
    server = smtp_server()
    service = service_for(server)
    mail = service.compose("ann@example.com", "Deals", "text")

    async def job(n):
        for _ in range(50):
            try:
                return await service.deliver(mail, holder=f"job-{n}", last_try=False)
            except RetryLater:  # busy, or SQLite's writer lock: the queue would retry it
                await asyncio.sleep(0.05)
        raise AssertionError(f"job-{n} never got through")

    results = await asyncio.gather(*(job(n) for n in range(20)))
    assert sorted(r["already_sent"] for r in results) == [False] + [True] * 19
    assert len(server.received) == 1


async def test_without_its_ledger_a_job_waits_instead_of_sending_blind(smtp_server, tmp_path):
    server = smtp_server()
    # A database without the ledger's tables (never migrated).
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    service = MailService(server.config(), Ledger(async_sessionmaker(engine)))
    try:
        with pytest.raises(RetryLater, match=r"delivery ledger unreachable, <.*> not sent"):
            await service.deliver(
                service.compose("ann@example.com", "Deals", "text"), holder="job-1", last_try=False
            )
    finally:
        await engine.dispose()
    assert server.received == []


async def test_a_ledger_that_fails_after_acceptance_does_not_fail_the_send(smtp_server, tmp_path, caplog):
    server = smtp_server()
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    service = MailService(server.config(), Ledger(async_sessionmaker(engine)))
    try:
        with caplog.at_level(logging.ERROR, logger="jobhost_email"):
            message_id = await service.send("ann@example.com", "Reset", "text")
    finally:
        await engine.dispose()
    assert len(server.received) == 1
    assert f"message {message_id} was accepted but could not be recorded" in caplog.text


async def test_status_names_the_server_but_never_the_password(smtp_server, service_for, tls_files):
    server = smtp_server()
    service = service_for(server, tls="starttls", username="mailer", password="hunter2-secret")
    status = await service.status()
    assert status["server"] == f"127.0.0.1:{server.port}"
    assert status["tls"] == "starttls"
    assert status["sender"] == "Deals <deals@example.com>"
    assert "hunter2-secret" not in repr(status) and "hunter2-secret" not in repr(service.config)


async def test_an_unconfigured_service_says_why(smtp_server):
    service = MailService()
    with pytest.raises(ServiceUnavailable, match=r"mail service: the email plugin has not started yet"):
        await service.send("ann@example.com", "Reset", "text")
    service.unavailable("SMTP_TLS: must be none, starttls or implicit")
    with pytest.raises(ServiceUnavailable, match=r"SMTP_TLS: must be"):
        service.compose("ann@example.com", "Reset", "text")
