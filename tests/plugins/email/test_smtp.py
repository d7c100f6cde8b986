"""The SMTP transport against real servers on loopback, and how it sorts their failures."""

import asyncio
import socket

import pytest

from jobhost import PermanentError, RetryLater
from jobhost_email.config import MailConfig
from jobhost_email.mail import Mail, bulk_headers
from jobhost_email.smtp import PermanentFailure, SmtpTransport, TemporaryFailure
from tests.plugins.email.conftest import DROP, PASSWORD, USERNAME, free_port


def mail(to="ann@example.com", **overrides):
    values = {"subject": "Deals", "text": "Plain body", "html": "<p>HTML body</p>", "domain": "example.com"}
    return Mail.compose(to, **{**values, **overrides})


async def send(config, message):
    async with SmtpTransport(config).connect() as smtp:
        return await smtp.send(message)


async def test_delivery_carries_both_parts_and_every_header(smtp_server):
    server = smtp_server()
    message = mail(headers=bulk_headers("http://localhost:8000/api/email/unsubscribe?token=abc"))
    accepted = await send(server.config(), message)

    assert accepted.message_id == message.message_id
    assert accepted.recipients == ("ann@example.com",)
    assert accepted.refused == {}
    assert accepted.reply == "2.0.0 OK: queued as 4F2A"
    [got] = server.received
    assert got.sender == "deals@example.com"
    assert got.recipients == ["ann@example.com"]
    body = got.message
    assert body.get_content_type() == "multipart/alternative"
    assert body.get_body(("plain",)).get_content() == "Plain body\n"
    assert body.get_body(("html",)).get_content() == "<p>HTML body</p>\n"
    assert body["Message-ID"] == message.message_id
    assert body["Date"] == message.date
    assert body["From"] == "Deals <deals@example.com>"
    assert body["To"] == "ann@example.com"
    assert body["Subject"] == "Deals"
    assert body["List-Unsubscribe"] == "<http://localhost:8000/api/email/unsubscribe?token=abc>"
    assert body["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_a_4xx_reply_is_temporary_and_carries_the_reply(smtp_server):
    server = smtp_server(data_answers=("451 4.3.0 Mail server temporarily rejected message",))
    with pytest.raises(TemporaryFailure) as caught:
        await send(server.config(), mail())
    failure = caught.value
    assert isinstance(failure, RetryLater) and failure.delay is None
    assert failure.code == 451
    assert failure.reply == "451 4.3.0 Mail server temporarily rejected message"
    assert str(failure) == f"SMTP server 127.0.0.1:{server.port}: {failure.reply}"
    assert server.received == []
    # The next try on the same server goes through.
    await send(server.config(), mail())
    assert len(server.received) == 1


async def test_a_refused_recipient_is_permanent_with_the_servers_reply(smtp_server):
    server = smtp_server(refuse={"gone@example.com": "550 5.1.1 <gone@example.com>: user unknown"})
    with pytest.raises(PermanentFailure) as caught:
        await send(server.config(), mail("gone@example.com"))
    assert isinstance(caught.value, PermanentError)
    assert caught.value.code == 550
    assert (
        caught.value.reply
        == "recipients refused: gone@example.com: 550 5.1.1 <gone@example.com>: user unknown"
    )


async def test_a_recipient_refused_with_4xx_is_worth_retrying(smtp_server):
    server = smtp_server(refuse={"busy@example.com": "450 4.2.1 mailbox busy"})
    with pytest.raises(TemporaryFailure, match=r"450 4.2.1 mailbox busy"):
        await send(server.config(), mail("busy@example.com"))


async def test_a_5xx_reply_to_data_is_permanent(smtp_server):
    server = smtp_server(data_answers=("554 5.7.1 Message rejected as spam",))
    with pytest.raises(PermanentFailure, match=r"554 5.7.1 Message rejected as spam"):
        await send(server.config(), mail())


async def test_one_refused_recipient_of_two_does_not_fail_the_others(smtp_server):
    server = smtp_server(refuse={"gone@example.com": "550 5.1.1 user unknown"})
    accepted = await send(server.config(), mail(["ann@example.com", "gone@example.com"]))
    assert accepted.recipients == ("ann@example.com",)
    assert accepted.refused == {"gone@example.com": "550 5.1.1 user unknown"}
    assert server.received[0].recipients == ["ann@example.com"]


async def test_a_connection_dropped_after_data_is_temporary(smtp_server):
    server = smtp_server(data_answers=(DROP,))
    with pytest.raises(TemporaryFailure, match=r"connection failed"):
        await send(server.config(), mail())
    assert server.handler.data_tries == 1 and server.received == []


def plain_config(port, seconds=2.0):
    return MailConfig(host="127.0.0.1", port=port, tls="none", connect_timeout=seconds, timeout=seconds)


async def test_a_refused_connection_is_temporary():
    with pytest.raises(TemporaryFailure, match=r"connection failed: .*Connect call failed"):
        await send(plain_config(free_port()), mail())


async def test_a_server_that_never_answers_times_out_as_temporary():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(TemporaryFailure, match=r"timed out"):
            await send(plain_config(silent.getsockname()[1], seconds=0.5), mail())


async def test_an_accepted_message_stays_accepted_when_quit_hangs(smtp_server):
    server = smtp_server(quit_delay=3)
    config = server.config(timeout=0.5)
    accepted = await asyncio.wait_for(send(config, mail()), timeout=10)
    assert accepted.recipients == ("ann@example.com",)
    assert server.handler.quit_seen.is_set()


async def test_starttls_with_login_and_a_private_ca(smtp_server, tls_files):
    server = smtp_server(tls="starttls", tls_context=tls_files.server_context)
    config = server.config(tls="starttls", username=USERNAME, password=PASSWORD, ca_file=str(tls_files.ca))
    await send(config, mail())
    assert len(server.received) == 1


async def test_implicit_tls(smtp_server, tls_files):
    server = smtp_server(tls="implicit", tls_context=tls_files.server_context)
    config = server.config(tls="implicit", username=USERNAME, password=PASSWORD, ca_file=str(tls_files.ca))
    await send(config, mail())
    assert len(server.received) == 1


async def test_a_wrong_password_is_permanent(smtp_server, tls_files):
    server = smtp_server(tls="starttls", tls_context=tls_files.server_context)
    config = server.config(tls="starttls", username=USERNAME, password="wrong", ca_file=str(tls_files.ca))
    with pytest.raises(PermanentFailure, match=r"535 5.7.8 Authentication credentials invalid") as caught:
        await send(config, mail())
    assert "wrong" not in str(caught.value)


async def test_an_untrusted_certificate_is_permanent_and_says_where_to_fix_it(smtp_server, tls_files):
    server = smtp_server(tls="starttls", tls_context=tls_files.server_context)
    config = server.config(tls="starttls", ca_file=str(tls_files.other_ca))
    with pytest.raises(PermanentFailure, match=r"TLS certificate not trusted: .*SMTP_CA_FILE"):
        await send(config, mail())
    assert server.received == []


async def test_starttls_against_a_server_without_it_is_permanent(smtp_server):
    server = smtp_server()
    with pytest.raises(PermanentFailure, match=r"STARTTLS extension not supported.*check SMTP_TLS"):
        await send(server.config(tls="starttls"), mail())


async def test_plain_smtp_against_a_server_that_requires_starttls_is_permanent(smtp_server, tls_files):
    server = smtp_server(tls="starttls", tls_context=tls_files.server_context)
    with pytest.raises(PermanentFailure, match=r"530 Must issue a STARTTLS command first"):
        await send(server.config(), mail())
