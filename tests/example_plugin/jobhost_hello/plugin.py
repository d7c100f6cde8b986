"""Hook implementations: one queue, one task, a public and an admin route, a schedule, a command."""

from __future__ import annotations

import click
from litestar import get
from litestar.params import FromPath

from jobhost import Backoff, QueuePolicy, Setting, hookimpl
from jobhost_hello.greeting import greeting

GREETING_STYLE = Setting("HELLO_SHOUT", False, lambda text: text == "1", help="1 = greet in capitals")


def greet(name: str, ctx=None) -> str:
    """The task: a job's JSON kwargs arrive as arguments; `ctx` reports progress."""
    if ctx is not None:
        ctx.progress(50, "composing")
    return greeting(name)


@get("/api/hello/{name:str}")
async def hello_route(name: FromPath[str]) -> dict[str, str]:
    return {"greeting": greeting(name)}


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
    register(greet, queue="hello", name="hello.greet")


@hookimpl
def register_routes(register):
    register(hello_route)


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
