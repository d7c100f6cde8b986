"""The installed email plugin inside a real host: its settings, queue, migration and `mail` service."""

import pytest

from jobhost import ServiceUnavailable
from jobhost_email.config import DEFAULT_PORTS, MailConfig
from tests.plugins.email.conftest import jobhost


def test_the_plugin_registers_its_queue_settings_service_and_migrations(make_host):
    host = make_host(installed=("email",))
    info = host.registry.plugins["email"]
    assert info.status == "loaded", info.error
    summary = info.as_dict()
    assert [q["name"] for q in summary["queues"]] == ["email-sending", "events.email"]  # + its deliveries
    policy = host.registry.queues["email-sending"]
    assert (policy.attempts, policy.backoff.delay_for(1), policy.backoff.delay_for(2)) == (5, 10, 20)
    assert policy.concurrency_env == "EMAIL_WORKER_CONCURRENCY"
    assert policy.rate_limit_env == "EMAIL_RATE_LIMIT"
    assert summary["services"] == ["mail"]
    assert {"SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TLS", "MAIL_FROM"} <= set(
        summary["settings"]
    )
    assert len(host.registry.migrations) == 1
    assert {t["name"]: t["queue"] for t in summary["tasks"]} == {
        "email.send_email": "email-sending",
        "email.handle_event": "events.email",
    }
    assert summary["schedules"] == []
    [target] = host.cleanup_targets
    assert (target.name, target.kind) == ("email delivery ledger", "prune")
    assert sorted(set(summary["routes"])) == ["/api/email/unsubscribe", "/api/email/watchlist"]
    assert summary["admin_routes"] == ["/api/admin/email/status", "/api/admin/email/test"]


def test_defaults_pick_the_port_of_the_tls_mode(make_host):
    for mode, port in DEFAULT_PORTS.items():
        config = MailConfig.from_settings(make_host(installed=("email",), SMTP_TLS=mode).settings)
        assert (config.tls, config.port) == (mode, port)
    config = MailConfig.from_settings(make_host(installed=("email",)).settings)
    assert (config.host, config.tls, config.port, config.sender) == (
        "localhost",
        "starttls",
        587,
        "noreply@localhost",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTP_TLS": "ssl"}, "SMTP_TLS='ssl': must be none, starttls or implicit"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT='70000': must be a port number from 1 to 65535"),
        ({"SMTP_TIMEOUT": "-1"}, "SMTP_TIMEOUT='-1': must be a number of seconds > 0"),
        ({"MAIL_FROM": "nobody"}, "MAIL_FROM='nobody': must be an address"),
        ({"EMAIL_BASE_URL": "deals.example.com"}, "EMAIL_BASE_URL='deals.example.com': must be an http"),
    ],
)
def test_a_bad_setting_stops_the_host_naming_the_variable(make_host, env, message):
    with pytest.raises(ValueError, match=message):
        make_host(installed=("email",), **env)


def test_the_password_is_masked_in_jobhost_config(tmp_path):
    proc = jobhost(
        "config",
        env={
            "JOBHOST_DATA_DIR": str(tmp_path),
            "JOBHOST_LOAD_PLUGINS": "email",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "hunter2-secret",
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert "SMTP_PASSWORD=***" in proc.stdout
    assert "hunter2-secret" not in proc.stdout + proc.stderr


async def test_settings_that_contradict_each_other_leave_the_service_unavailable_saying_why(make_host):
    host = make_host(installed=("email",), SMTP_TLS="none", SMTP_USERNAME="mailer", SMTP_PASSWORD="pw")
    await host.start()
    try:
        with pytest.raises(ServiceUnavailable, match=r"SMTP_USERNAME is set with SMTP_TLS=none"):
            await host.service("mail").send("ann@example.com", "Reset", "text")
    finally:
        await host.stop()


async def test_the_host_migrates_the_ledger_and_sends_through_the_mail_service(make_host, smtp_server):
    server = smtp_server()
    host = make_host(installed=("email",), **server.env())
    proc = jobhost("db", "upgrade", env=dict(host.settings.env))
    assert proc.returncode == 0, proc.stderr
    assert "email: applied email_0001" in proc.stdout

    await host.start()
    try:
        mail = host.service("mail")
        message_id = await mail.send("ann@example.com", "Reset your password", "Open the link")
        status = await mail.status()
    finally:
        await host.stop()
        await host.database.dispose()
    [got] = server.received
    assert got.message["Message-ID"] == message_id
    assert got.message["From"] == "Deals <deals@example.com>"
    assert status["sent"] == 1
