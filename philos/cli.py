"""Command line: ``philos serve | seed | migrate | worker | create-admin | backup | restore |
export-schema``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from philos.config import Settings
    from philos.seed.loader import SeedIncomplete


def _serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    if args.subgraph:
        # Read by Settings, here and in the uvicorn worker that builds the app.
        os.environ["PHILOS_SUBGRAPH"] = args.subgraph

    from philos.bootstrap import check_separate_urls, open_sql
    from philos.config import get_settings

    async def preflight() -> None:
        # The app opens its stores in uvicorn's lifespan, where a failure is logged as a
        # traceback: check the URLs and the SQL database here first, for a one-line error.
        check_separate_urls(get_settings())
        await (await open_sql(get_settings())).aclose()

    asyncio.run(preflight())
    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "reload": args.reload,
        "proxy_headers": True,
        "server_header": False,  # no "server: uvicorn" banner on every answer
        # httptools with a bound on the time to send the headers (PHILOS_HEADER_TIMEOUT).
        "http": "philos.gateway.serving:HeaderTimeoutProtocol",
        "timeout_graceful_shutdown": args.graceful_timeout,
        "log_config": None,  # JSON logging, configured by serve_app
        "log_level": get_settings().log_level.lower(),
    }
    if args.reload:
        uvicorn.run("philos.bootstrap:serve_app", **options)
        return 0
    from philos.gateway.serving import DrainingServer

    # Subscriptions end and WebSockets close with 1001 before uvicorn stops (SIGTERM).
    # uvicorn raises the signal again once it has shut down; Ctrl-C then ends here, cleanly.
    with contextlib.suppress(KeyboardInterrupt):
        DrainingServer(uvicorn.Config("philos.bootstrap:serve_app", **options)).run()
    return 0


def _seed(args: argparse.Namespace) -> int:
    from philos.bootstrap import build_stores
    from philos.config import get_settings
    from philos.seed.loader import SeedIncomplete, reset, seed

    settings = get_settings()

    async def run() -> tuple[dict[str, int], str | None]:
        stores = await build_stores(settings)
        try:
            if args.reset:
                await reset(stores)
            return await seed(stores), None
        except SeedIncomplete as exc:
            return exc.added, _unseeded(settings, exc)
        finally:
            await stores.aclose()

    added, problem = asyncio.run(run())
    print(", ".join(f"{n} {kind} added" for kind, n in added.items()))
    if problem is not None:
        print(f"philos seed: {problem}", file=sys.stderr)
        return 1
    return 0


def _unseeded(settings: Settings, exc: SeedIncomplete) -> str:
    """One line naming the setting of each store that did not take its part of the corpus."""
    from philos.datasources.startup import VARIABLES, StartupError

    urls = {
        "DATABASE_URL": settings.database_url or settings.sql_url,
        "NEO4J_URI": settings.neo4j_uri or "",
        "MONGODB_URI": settings.mongodb_uri or "",
    }
    lines = []
    for part, failure in exc.failures.items():
        variable = VARIABLES.get(failure.store, "DATABASE_URL")
        lines.append(str(StartupError(variable, urls.get(variable, ""), f"{part}: {failure}")))
    return "; ".join(lines)


def _migrate(_args: argparse.Namespace) -> int:
    from philos.bootstrap import open_sql
    from philos.config import get_settings

    async def run() -> None:
        db = await open_sql(get_settings())  # migrates
        await db.aclose()

    asyncio.run(run())
    print("the SQL schema is at the newest migration")
    return 0


def _worker(_args: argparse.Namespace) -> int:
    """Run the outbox relays alone: concept changes to separate graph/thesis stores, and domain
    events to RabbitMQ (the API runs both in-process too; running both is safe); and, with
    RABBITMQ_URL and ANTHROPIC_API_KEY, the queued AI jobs."""
    import signal

    from philos.bootstrap import build_stores
    from philos.config import get_settings

    settings = get_settings()

    async def run() -> int:
        stores = await build_stores(settings)
        try:
            tasks = []
            if stores.relay is not None:
                tasks.append(asyncio.create_task(stores.relay.run()))
                print("relaying concept changes to the separate stores; SIGTERM stops", flush=True)
            if settings.rabbitmq_url and stores.event_relay is not None:
                tasks.append(asyncio.create_task(stores.event_relay.run()))
                print("publishing domain events to RabbitMQ; SIGTERM stops", flush=True)
            if stores.job_queue is not None and stores.llm is not None:
                tasks.append(asyncio.create_task(_consume_jobs(stores, settings)))
                print("running queued AI jobs; SIGTERM stops", flush=True)
            if not tasks:
                print("nothing to relay: neither NEO4J_URI, MONGODB_URI nor RABBITMQ_URL is set")
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return 0
        finally:
            await stores.aclose()

    return asyncio.run(run())


async def _consume_jobs(stores: Any, settings: Settings) -> None:
    """Take AI jobs off RabbitMQ's queue, ``PHILOS_AI_MAX_CONCURRENCY`` at once (the prefetch),
    and run each through the synchronous mutation's code path."""
    from philos.ai.jobs import run_delivered
    from philos.schema.ai import RUNNERS
    from philos.tokens import Tokens, load_secret

    tokens = Tokens(load_secret(settings))

    async def handle(job_id: str) -> None:
        await run_delivered(stores, settings, tokens, job_id, RUNNERS)

    await stores.job_queue.consume(handle, settings.ai_max_concurrency)


_CLI_FIELDS = {"email": "--email", "displayName": "--display-name"}


def _read_password(args: argparse.Namespace, env_password: str | None) -> str:
    """From standard input (``--password-stdin``), ``PHILOS_ADMIN_PASSWORD`` or a prompt: never
    from the command line, where it would land in the shell's history and in ``ps``."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if env_password:
        return env_password
    if not sys.stdin.isatty():
        raise SystemExit(
            "philos create-admin: no password given; pipe it with --password-stdin, set "
            "PHILOS_ADMIN_PASSWORD, or run it in a terminal to be asked."
        )
    password = getpass.getpass("Password for the new ADMIN: ")
    if getpass.getpass("The same password again: ") != password:
        raise SystemExit("philos create-admin: the two passwords differ; nothing was changed.")
    return password


def _create_admin(args: argparse.Namespace) -> int:
    """Create an ADMIN account, or make an existing account ADMIN (its password unchanged)."""
    from philos.bootstrap import build_stores
    from philos.config import get_settings
    from philos.domain import ConflictError, Role, ValidationError
    from philos.resolvers.users import create_admin

    settings = get_settings()
    env_password = settings.admin_password.get_secret_value() if settings.admin_password else None

    async def run() -> int:
        stores = await build_stores(settings)
        try:
            email = args.email.strip().lower()
            existing = await stores.users.get_by_email(email)
            if existing is not None:
                if existing.role is not Role.ADMIN:
                    await stores.users.set_role(existing.id, Role.ADMIN)
                print(
                    f"{email} is an ADMIN (an existing account: its password is unchanged, "
                    "and the role reaches its tokens at their next refresh)"
                )
                return 0
            password = _read_password(args, env_password)
            try:
                user = await create_admin(stores, settings, email, password, args.display_name)
            except ValidationError as exc:
                for problem in exc.problems:
                    name = _CLI_FIELDS.get(problem.field, problem.field)
                    print(f"philos create-admin: {name} {problem.message}", file=sys.stderr)
                return 2
            except ConflictError as exc:  # registered a moment ago: run the command again
                print(f"philos create-admin: {exc.message}", file=sys.stderr)
                return 1
            print(f"created the ADMIN account {user.email}")
            return 0
        finally:
            await stores.aclose()

    return asyncio.run(run())


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from philos.backup import backup
    from philos.bootstrap import build_stores
    from philos.config import get_settings

    async def run() -> int:
        stores = await build_stores(get_settings())
        try:
            outcome = await backup(stores, Path(args.out))
        except OSError as exc:
            print(f"philos backup: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        finally:
            await stores.aclose()
        counts = ", ".join(f"{n} {kind}" for kind, n in outcome.counts.items())
        print(
            f"wrote {args.out} ({counts}; schema {outcome.schema_revision}) "
            f"in {outcome.seconds:.1f}s"
        )
        return 0

    return asyncio.run(run())


def _restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from philos.backup import ArchiveError, RestoreRefused, restore
    from philos.bootstrap import build_stores
    from philos.config import get_settings

    async def run() -> int:
        stores = await build_stores(get_settings())
        try:
            outcome = await restore(stores, Path(args.file), replace=args.replace)
        except (ArchiveError, RestoreRefused) as exc:
            print(f"philos restore: {exc}; nothing was changed", file=sys.stderr)
            return 1
        finally:
            await stores.aclose()
        counts = ", ".join(f"{n} {kind}" for kind, n in outcome.counts.items())
        print(f"restored {args.file} ({counts}) in {outcome.seconds:.1f}s")
        return 0

    return asyncio.run(run())


def _export_schema(args: argparse.Namespace) -> int:
    if args.cost_hints:
        import json

        from philos.gateway.query_limits import cost_hints
        from philos.schema.root import build_schema as monolith

        sys.stdout.write(json.dumps(cost_hints(monolith()._schema), indent=2) + "\n")
        return 0
    if args.subgraph:
        from philos.schema.federation import subgraph_sdl_of

        sys.stdout.write(subgraph_sdl_of(args.subgraph))
        return 0
    from philos.schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


# The federated services (philos.schema.federation.SUBGRAPHS, kept here to start fast).
SUBGRAPH_NAMES = ("users", "concepts", "graph", "theses", "ai")


class HelpWithDefaults(argparse.HelpFormatter):
    """Every option's help ends with its default: "(default: 8000)", "(default: off)" for a
    switch, "(required)" for an option without one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if action.required:
            return f"{text} (required)".strip()
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)".strip()
        return f"{text} (default: %(default)s)".strip()


def version() -> str:
    """The installed package's version."""
    from importlib.metadata import version as installed

    return installed("philos")


def build_parser() -> argparse.ArgumentParser:
    """The command line: every subcommand and option, each option's help with its default."""
    parser = argparse.ArgumentParser(
        prog="philos", description=__doc__, formatter_class=HelpWithDefaults
    )
    parser.add_argument("--version", action="version", version=f"philos {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_commands(sub)
    return parser


def _add_commands(sub: Any) -> None:
    def add_parser(name: str, **options: Any) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = sub.add_parser(
            name, formatter_class=HelpWithDefaults, **options
        )
        return command

    serve = add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the port to listen on")
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument(
        "--graceful-timeout", type=int, default=20, help="seconds to drain requests on SIGTERM"
    )
    serve.add_argument(
        "--subgraph",
        choices=SUBGRAPH_NAMES,
        help="serve one service's Federation 2 subgraph (see docs/federation.md)",
    )
    serve.set_defaults(run=_serve)

    seed = add_parser("seed", help="load the sample corpus (only what is missing)")
    seed.add_argument("--reset", action="store_true", help="empty the database first")
    seed.set_defaults(run=_seed)

    migrate = add_parser(
        "migrate", help="bring the SQL schema to the newest migration (start-up does it too)"
    )
    migrate.set_defaults(run=_migrate)

    worker = add_parser(
        "worker",
        help="relay concept changes to separate graph/thesis stores, and domain events to "
        "RabbitMQ, until stopped",
    )
    worker.set_defaults(run=_worker)

    admin = add_parser(
        "create-admin",
        help="create an ADMIN account, or make an existing one ADMIN",
        description="Create an ADMIN account, or make the account with this email ADMIN. The "
        "password of a new account is read from standard input (--password-stdin), from "
        "PHILOS_ADMIN_PASSWORD, or asked for in a terminal; never give it as an argument.",
    )
    admin.add_argument("--email", required=True, help="the account's email")
    admin.add_argument(
        "--display-name", default="Administrator", help="the name a new account is shown by"
    )
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    admin.set_defaults(run=_create_admin)

    dump = add_parser(
        "backup", help="write everything Philos keeps to one archive (see docs/operations.md)"
    )
    dump.add_argument("--out", required=True, help="the archive to write (.tar.gz)")
    dump.set_defaults(run=_backup)

    load = add_parser(
        "restore",
        help="restore an archive written by 'philos backup' into an empty deployment",
        description="Restore an archive written by 'philos backup'. The whole archive is "
        "checked first; a corrupted, truncated or newer one is refused and nothing changes. "
        "A deployment that holds data is refused unless --replace is given. An interrupted "
        "restore can simply be run again.",
    )
    load.add_argument("file", help="the archive to restore")
    load.add_argument(
        "--replace", action="store_true", help="delete everything in the deployment first"
    )
    load.set_defaults(run=_restore)

    export = add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument(
        "--subgraph", choices=SUBGRAPH_NAMES, help="print this subgraph's federation SDL instead"
    )
    export.add_argument(
        "--cost-hints",
        action="store_true",
        help="print the query cost model as JSON instead (the federated gateway applies it)",
    )
    export.set_defaults(run=_export_schema)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("seed", "migrate", "worker", "backup", "restore"):
            _log_like_serve()
        return int(args.run(args))
    except Exception as exc:
        line = _startup_problem(exc)
        if line is None:
            raise
        # One line an operator can act on, instead of a traceback.
        print(f"philos {args.command}: {line}", file=sys.stderr)
        return 1


def _log_like_serve() -> None:
    """JSON logs on standard output, as ``serve`` writes them, so standard error carries only
    the one-line reason a command failed. Left alone when the caller (a test runner, say) has
    set logging up already."""
    import logging

    if not logging.getLogger().handlers:
        from philos.config import get_settings
        from philos.gateway.logs import configure_logging

        configure_logging(get_settings().log_level)


def _startup_problem(exc: Exception) -> str | None:
    """The one-line message for a configuration error, or None for anything else."""
    from pydantic import ValidationError

    from philos.config import get_settings
    from philos.datasources.startup import VARIABLES, StartupError, one_line
    from philos.domain import StoreUnavailableError

    if isinstance(exc, StartupError):
        return str(exc)
    if isinstance(exc, StoreUnavailableError):  # a store that went away while we worked
        settings = get_settings()
        variable = VARIABLES.get(exc.store, "DATABASE_URL")
        urls = {"NEO4J_URI": settings.neo4j_uri, "MONGODB_URI": settings.mongodb_uri}
        url = urls.get(variable) or settings.database_url or settings.sql_url
        return str(StartupError(variable, url, str(exc)))
    if isinstance(exc, ValidationError):  # a setting that does not parse (from Settings())
        return one_line(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in exc.errors()
            )
        )
    return None


if __name__ == "__main__":
    raise SystemExit(main())
