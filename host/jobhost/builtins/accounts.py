"""Built-in plugin `accounts`: users and tokens as the `accounts` service, and the `db`, `users`,
`tokens` and `secret` commands. It registers through the same hooks as any plugin
(`jobhost plugins --all`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from jobhost.commands import host_of, run_started
from jobhost.hookspecs import hookimpl
from jobhost.settings import parse_duration
from jobhost.store.accounts import AccountError, Accounts

if TYPE_CHECKING:
    from jobhost.host import Host
    from jobhost.store.accounts import IssuedToken
    from jobhost.store.user import User


@click.group()
def db() -> None:
    """The SQL database: schema migrations."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the host's and every enabled plugin's migrations."""
    host = host_of(ctx)

    async def upgrade() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        return await host.migrated(), await host.migrate()

    from jobhost.store.migrate import applied

    before, after = run_started(host, upgrade, start=False)
    for history in host.migrations():
        at = after.get(history.name, ())
        done = applied(history, before.get(history.name, ()), at)
        if done:
            click.echo(f"{history.name}: applied {', '.join(done)}")
        else:
            click.echo(f"{history.name}: nothing to do, at {', '.join(at) or '(no migrations)'}")


@click.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option(
    "--read-only", is_flag=True, help="An on-call viewer: sees the admin dashboard, changes nothing."
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password; asked for (hidden) when not given.",
)
@click.pass_context
def users_create(ctx: click.Context, email: str, admin: bool, read_only: bool, password: str) -> None:
    """Create a user who logs in with EMAIL."""
    from jobhost.store.accounts import Accounts

    host = host_of(ctx)
    accounts = Accounts(host.db)
    user = run_started(
        host,
        lambda: accounts.create_user(email, password, is_admin=admin, read_only=read_only),
        start=False,
    )
    kind = "admin" if user.is_admin else "read-only user" if user.read_only else "user"
    click.echo(f"created {kind} {user.email} (id {user.id})")


async def _existing(accounts: Accounts, email: str) -> User:
    user = await accounts.find(email)
    if user is None:
        raise AccountError(f"no user with email {email!r}; create one with `jobhost users create {email}`")
    return user


@users.command("link")
@click.argument("email")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="Where the API is reached.")
@click.pass_context
def users_link(ctx: click.Context, email: str, url: str) -> None:
    """Print a one-time link that signs a browser into the dashboard as EMAIL (15 minutes)."""
    from jobhost.welcome import sign_in_link

    host = host_of(ctx)
    accounts = Accounts(host.db)

    async def make() -> str:
        return await sign_in_link(accounts, await _existing(accounts, email), url.rstrip("/"))

    click.echo(run_started(host, make, start=False))


@click.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--expires", default="30d", show_default=True, help="Lifetime, such as 12h, 30d or 365d.")
@click.pass_context
def tokens_create(ctx: click.Context, email: str, expires: str) -> None:
    """Create an API token for the user EMAIL; the token is the last line printed."""
    try:
        ttl = parse_duration(expires)
    except ValueError:
        raise click.BadParameter(
            "must be a duration of at most 100 years, such as 12h, 30d or 365d", param_hint="--expires"
        ) from None
    host = host_of(ctx)
    accounts = Accounts(host.db)

    async def create() -> IssuedToken:
        return await accounts.issue_token(await _existing(accounts, email), "api", ttl)

    issued = run_started(host, create, start=False)
    click.echo(f"API token for {issued.user.email}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(issued.token)


@click.group()
def secret() -> None:
    """The secret keys that sign what is mailed out (unsubscribe links)."""


@secret.command("rotate")
@click.pass_context
def secret_rotate(ctx: click.Context) -> None:
    """Make a new generated key the one that signs; older keys still verify what they signed."""
    from jobhost.store.secrets import KeyStore

    host = host_of(ctx)
    if host.settings.secret_key:
        raise click.ClickException(
            "JOBHOST_SECRET_KEY is set, and it signs whatever the database holds: to rotate, unset it "
            "(links it signed then stop working) or set a new value"
        )
    number = run_started(host, KeyStore(host.db).add, start=False)
    click.echo(f"secret key {number} signs from now on; the {number - 1} older ones still verify")


class AccountsService:
    """The `accounts` service other plugins use (`host.service("accounts")`), bound to the host's
    database when the host starts."""

    def __init__(self) -> None:
        self._accounts: Accounts | None = None

    def bind(self, host: Host) -> None:
        self._accounts = Accounts(host.db)

    @property
    def accounts(self) -> Accounts:
        if self._accounts is None:
            raise RuntimeError("the accounts service is used before its host started")
        return self._accounts

    async def delete_expired_tokens(self) -> int:
        """Delete every expired token (of any purpose); how many went."""
        return await self.accounts.delete_expired_tokens()


@hookimpl
def register_services(register: Any) -> None:
    register("accounts", AccountsService())  # one per host: registration runs for each


@hookimpl
def register_commands(cli: click.Group) -> None:
    for group in (db, users, tokens, secret):
        cli.add_command(group)


@hookimpl
def startup(host: Host) -> None:
    host.service("accounts").bind(host)
