"""Hook implementations: one queue, one task, a public and an admin route, a schedule, a command."""

from __future__ import annotations

import click
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from taskiq import TaskiqDepends

import jobhost
from jobhost import Backoff, JobContext, QueuePolicy, Setting, User, hookimpl
from jobhost_hello.greeting import greeting

GREETING_STYLE = Setting("HELLO_SHOUT", False, lambda text: text == "1", help="1 = greet in capitals")


@jobhost.task("hello.greet", queue="hello")
def greet(name: str, job: JobContext = TaskiqDepends()) -> str:
    """The task: a job's JSON kwargs arrive as arguments; `job` reports progress."""
    job.progress(50, "composing")
    return greeting(name)


@get("/api/hello/{name:str}")
async def hello_route(name: FromPath[str]) -> dict[str, str]:
    return {"greeting": greeting(name)}


@post("/api/hello/{name:str}/jobs", status_code=202)
async def start_greeting(name: FromPath[str], user: NamedDependency[User]) -> dict[str, str]:
    """Greet in the background, as the signed-in user's job (they may follow it at /api/jobs/{id})."""
    kicked = await greet.kicker().with_labels(owner=user.owner).kiq(name)
    return {"jobId": kicked.task_id}


@get("/hello/stats")
async def hello_stats() -> dict[str, int]:
    return {"greeted": 0}


@hookimpl
def register_settings(register):
    register(GREETING_STYLE)


@hookimpl
def register_queues(register):
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
def register_tasks(register):
    register(greet)


@hookimpl
def register_routes(register):
    register(hello_route)
    register(start_greeting)


@hookimpl
def register_admin_routes(register):
    register(hello_stats)


@hookimpl
def register_schedules(register):
    register("hello-nightly", cron="0 3 * * *", task="hello.greet", kwargs={"name": "night"})


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    @click.argument("name")
    def hello_command(name: str) -> None:
        """Print a greeting."""
        click.echo(greeting(name))
