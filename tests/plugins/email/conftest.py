"""Real parts for the email plugin's tests: aiosmtpd servers on loopback that answer as a script
says (accept, 4xx, 5xx, drop the line after DATA, hang on QUIT), TLS certificates from a
throwaway CA, and delivery ledgers on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from jobhost.testing import discard
from jobhost_email.config import MailConfig
from jobhost_email.ledger import Ledger
from jobhost_email.tables import metadata
from tests.ports import free_port

# A DATA answer that closes the connection instead of replying.
DROP = "drop"
USERNAME, PASSWORD = "mailer", "s3cret-pa55"


@attrs.frozen
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    at: float  # time.time() when the server took it


class ScriptedHandler:
    """Answers DATA with `data_answers` in turn (then 250) after `data_delay` seconds, refuses
    the `refuse` recipients, and answers QUIT after `quit_delay` seconds."""

    def __init__(
        self,
        data_answers: tuple[str, ...] = (),
        refuse: dict[str, str] | None = None,
        data_delay: float = 0.0,
        quit_delay: float = 0.0,
    ) -> None:
        self.data_answers = list(data_answers)
        self.refuse = refuse or {}
        self.data_delay = data_delay
        self.quit_delay = quit_delay
        self.data_seen = threading.Event()
        self.received: list[Received] = []
        self.data_tries = 0
        self.quit_seen = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_tries += 1
        self.data_seen.set()
        await asyncio.sleep(self.data_delay)
        answer = self.data_answers.pop(0) if self.data_answers else "250 2.0.0 OK: queued as 4F2A"
        if answer == DROP:
            server.transport.abort()
            return "451 never sent: the line is down"
        if answer.startswith("250"):
            # SMTP carries CRLF; the tests compare bodies as Python text.
            content = envelope.original_content.replace(b"\r\n", b"\n")
            message = message_from_bytes(content, policy=policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, time.time()))
        return answer

    async def handle_QUIT(self, server, session, envelope):
        self.quit_seen.set()
        await asyncio.sleep(self.quit_delay)
        return "221 Bye"


@attrs.frozen
class SmtpServer:
    host: str
    port: int
    handler: ScriptedHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def config(self, **overrides: Any) -> MailConfig:
        """Settings for a client of this server (plain SMTP, short timeouts) unless overridden."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": "none",
            "connect_timeout": 5.0,
            "timeout": 5.0,
            "sender": "Deals <deals@example.com>",
            **overrides,
        }
        return MailConfig(**values)

    def env(self, **extra: str) -> dict[str, str]:
        """The same, as the plugin's environment variables."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "SMTP_TLS": "none",
            "SMTP_TIMEOUT": "5",
            "MAIL_FROM": "Deals <deals@example.com>",
            **extra,
        }


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    # handled=False: the server sends its own 535 on failure.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers on loopback: `smtp_server(data_answers=("451 4.3.0 busy",))`.

    `tls="starttls"` or `"implicit"` serves the test CA's certificate (see `tls_files`) and
    then requires a login as USERNAME / PASSWORD.
    """
    controllers: list[Controller] = []

    def start(*, tls: str = "none", tls_context: ssl.SSLContext | None = None, **script: Any) -> SmtpServer:
        handler = ScriptedHandler(**script)
        port = free_port()
        options: dict[str, Any] = {}
        if tls == "starttls":
            options = {
                "tls_context": tls_context,
                "require_starttls": True,
                "authenticator": _authenticate,
                "auth_require_tls": True,
            }
        elif tls == "implicit":
            # aiosmtpd counts only STARTTLS as TLS; this connection is TLS from its first byte.
            options = {"ssl_context": tls_context, "authenticator": _authenticate, "auth_require_tls": False}
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@attrs.frozen
class TlsFiles:
    ca: Path
    other_ca: Path
    server_context: ssl.SSLContext


def _certificate(subject: str, key: Any, issuer: x509.Name, signer: Any, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1 it signs, and an unrelated CA."""
    root = tmp_path_factory.mktemp("tls")
    cas = []
    for name in ("jobhost test CA", "some other CA"):
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cas.append((key, issuer, _certificate(name, key, issuer, key, ca=True)))
    (ca_key, ca_name, ca_cert), (_, _, other_cert) = cas
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate("localhost", server_key, ca_name, ca_key, ca=False)
    (root / "ca.pem").write_bytes(_pem(ca_cert))
    (root / "other-ca.pem").write_bytes(_pem(other_cert))
    (root / "server.pem").write_bytes(_pem(server_cert))
    (root / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(root / "server.pem", root / "server.key")
    return TlsFiles(root / "ca.pem", root / "other-ca.pem", context)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[Any]]:
    """Sessions on `database_url`, its tables created from the plugin's metadata."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def ledger(sessions: async_sessionmaker[Any]) -> Ledger:
    return Ledger(sessions)


REDIS_URL = "redis://127.0.0.1:6379/0"
USER_PASSWORD = "correct horse battery"


def jobhost_env(**env: str) -> dict[str, str]:
    """This process's environment without jobhost's and the plugin's variables, plus `env`."""
    own = ("JOBHOST_", "SMTP_", "MAIL_", "EMAIL_", "REDIS_URL", "DATABASE_URL")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(own)}, **env}


def jobhost(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real `jobhost` command to its end."""
    return subprocess.run(
        [sys.executable, "-m", "jobhost", *args],
        env=jobhost_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@attrs.define
class Stack:
    """The installed email plugin on the shared Redis (under a key prefix of its own) and a
    migrated SQLite database, with `jobhost worker` processes started on demand."""

    host: Any
    env: dict[str, str]
    smtp: SmtpServer
    workers: list[subprocess.Popen[bytes]] = attrs.field(factory=list)
    clients: list[httpx.AsyncClient] = attrs.field(factory=list)

    def start_worker(self, **extra: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobhost",
                "worker",
                "--queue",
                "email-sending",
                "--queue",
                "events.email",
            ],
            env=jobhost_env(**self.env, **extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.workers.append(proc)
        return proc

    async def start_api(self) -> httpx.AsyncClient:
        """A `jobhost api` process, and an HTTP client for it once it answers."""
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobhost", "api", "--port", str(port)],
            env=jobhost_env(**self.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.workers.append(proc)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
        self.clients.append(client)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "api exited"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return client
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not come up in 60 s"
            await asyncio.sleep(0.2)

    async def user(self, client: httpx.AsyncClient, email: str, *, admin: bool = False) -> dict[str, str]:
        """A user made with `jobhost users create`, logged in: headers with their bearer token."""
        args = ["users", "create", email, "--password", USER_PASSWORD, *(["--admin"] if admin else [])]
        made = await asyncio.to_thread(jobhost, *args, env=self.env)
        assert made.returncode == 0, made.stderr
        login = await client.post("/api/auth/login", json={"email": email, "password": USER_PASSWORD})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}

    async def wait(self, job_id: str, timeout: float = 60.0) -> Any:
        """The job once it has ended (completed, dead or cancelled)."""
        return await self.host.wait(job_id, timeout)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
async def stack(make_host, smtp_server, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await stack(**smtp_script, **env)`: a Stack on a fresh SMTP server with that script."""
    made: list[Stack] = []

    async def make(env: dict[str, str] | None = None, **script: Any) -> Stack:
        server = smtp_server(**script)
        settings = {
            "REDIS_URL": REDIS_URL,
            "JOBHOST_REDIS_PREFIX": f"jobhost-email-test-{uuid.uuid4().hex[:12]}",
            "JOBHOST_DATA_DIR": str(tmp_path / "data"),
            "JOBHOST_LOAD_PLUGINS": "email",
            "JOBHOST_SECRET_KEY": "test-secret-key",
            **server.env(),
            **(env or {}),
        }
        migrated = jobhost("db", "upgrade", env=settings)
        assert migrated.returncode == 0, migrated.stderr
        host = make_host(installed=("email",), **settings)
        await host.start()
        made.append(Stack(host, settings, server))
        return made[-1]

    yield make
    for each in made:
        for client in each.clients:
            await client.aclose()
        each.stop_workers()
        await each.host.stop()
        await discard(each.host)
