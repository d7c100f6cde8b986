"""Hook implementations: a queue, a task that signs the guestbook, a public and an admin route,
a schedule, the guestbook's migrations and two commands."""

from __future__ import annotations

from pathlib import Path

import click
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath
from taskiq import TaskiqDepends

import jobhost
from jobhost import (
    Backoff,
    Host,
    JobContext,
    PermanentError,
    QueuePolicy,
    RegisterMigrations,
    RegisterQueue,
    RegisterRoute,
    RegisterSchedule,
    RegisterSetting,
    RegisterTask,
    Setting,
    User,
    hookimpl,
    parse_bool,
    pass_host,
)
from jobhost_hello.greeting import greeting
from jobhost_hello.guestbook import Guestbook

MIGRATIONS = Path(__file__).parent / "migrations"
SHOUT = Setting("HELLO_SHOUT", False, parse_bool, help="1 = greet in capitals")


@jobhost.task("hello.greet", queue="hello")
async def greet(name: str, job: JobContext = TaskiqDepends()) -> str:
    """The task: a job's JSON kwargs arrive as arguments; `job` reports progress and reaches the host."""
    try:
        text = greeting(name, shout=job.host.settings.read(SHOUT))
    except ValueError as exc:
        raise PermanentError(str(exc)) from None  # another try cannot fix the name
    job.progress(50, "signing the guestbook")
    await Guestbook(job.host.db).sign(name.strip())
    return text


def _http_greeting(name: str) -> str:
    try:
        return greeting(name)
    except ValueError as exc:  # a 400 naming the field, not a 500
        raise ValidationException(detail=f"name: {exc}") from None


@get("/api/hello/{name:str}")
async def hello_route(name: FromPath[str]) -> dict[str, str]:
    return {"greeting": _http_greeting(name)}


@post("/api/hello/{name:str}/jobs", status_code=202)
async def start_greeting(name: FromPath[str], user: NamedDependency[User]) -> dict[str, str]:
    """Greet in the background, as the signed-in user's job (they may follow it at /api/jobs/{id})."""
    _http_greeting(name)
    kicked = await greet.kicker().with_labels(owner=user.owner).kiq(name)
    return {"jobId": kicked.task_id}


@get("/hello/stats")
async def hello_stats(host: NamedDependency[Host]) -> dict[str, int]:
    """Admins only (mounted under /api/admin/): how many greetings the guestbook holds."""
    return {"greeted": await Guestbook(host.db).total()}


@hookimpl
def register_settings(register: RegisterSetting) -> None:
    register(SHOUT)


@hookimpl
def register_queues(register: RegisterQueue) -> None:
    register(
        QueuePolicy(
            "hello",
            attempts=4,
            backoff=Backoff.exponential(2, max_delay=60),
            concurrency=2,
            concurrency_env="HELLO_CONCURRENCY",
        )
    )


@hookimpl
def register_tasks(register: RegisterTask) -> None:
    register(greet)


@hookimpl
def register_routes(register: RegisterRoute) -> None:
    register(hello_route)
    register(start_greeting)


@hookimpl
def register_admin_routes(register: RegisterRoute) -> None:
    register(hello_stats)


@hookimpl
def register_schedules(register: RegisterSchedule) -> None:
    register("hello-nightly", cron="0 3 * * *", task="hello.greet", kwargs={"name": "night"})


@hookimpl
def register_migrations(register: RegisterMigrations) -> None:
    register(MIGRATIONS)


def _cli_greeting(name: str) -> str:
    try:
        return greeting(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("hello")
    @click.argument("name")
    def hello_command(name: str) -> None:
        """Print a greeting."""
        click.echo(_cli_greeting(name))

    @cli.command("hello-later")
    @click.argument("name")
    @pass_host(shared=True)  # the workers must see the job: a private embedded queue won't do
    async def hello_later(host: Host, name: str) -> None:
        """Queue a greeting for the workers and print its job id."""
        _cli_greeting(name)
        kicked = await greet.kiq(name)
        click.echo(kicked.task_id)
