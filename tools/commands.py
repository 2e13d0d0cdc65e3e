"""The tools' commands of the ``scf`` command line: ``scf gas``, ``scf bench``, ``scf demo`` and ``scf run``.

The tools register :func:`register` in the entry-point group ``scf_chain.commands``. ``scf run``
lives here because it seeds the demo; it serves through the gateway's own command module.
"""

from __future__ import annotations

import os
import signal
from contextlib import ExitStack
from enum import StrEnum
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from scf_chain.cli import common as cli
from scf_chain.domain.errors import ScfError
from scf_chain.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from scf_chain.chain.local import LocalChain
    from scf_chain.runtime import Runtime


def gas() -> None:
    """Gas of every ledger operation beside token baselines, on a throwaway chain of its own."""
    from tools.gas import gas_report

    typer.echo(gas_report())


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="A small run, under a minute, into bench/quick/.")] = False,
    smoke: Annotated[bool, typer.Option("--smoke", hidden=True, help="The test suite's tiniest run.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this part (main, reads or replicas; repeat for more), into bench/<mode>-only-<parts>/; "
            "the README is left alone.",
        ),
    ] = None,
) -> None:
    """Benchmark everything on a fresh chain and gateway: bench/results.json, bench/REPORT.md and plots."""
    from tools.bench import PARTS, README_PATH, default_output_dir
    from tools.bench import run as run_benchmarks

    mode = "smoke" if smoke else "quick" if quick else "full"
    parts = list(only or ())
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        raise ScfError(f"--only {unknown[0]}: the parts of the benchmark are {', '.join(PARTS)}")
    readme = README_PATH if mode == "full" and not parts else None
    results = run_benchmarks(mode, readme=readme, console=cli.console(), only=parts)
    console = cli.console()
    for verdict in results["verdicts"]:
        console.print(f"{'met   ' if verdict['met'] else 'MISSED'}  {verdict['target']}: {verdict['measured']}")
    folder = default_output_dir(mode, parts)
    console.print(f"results in {folder} (REPORT.md, results.json); {results['duration_s']:.0f} s")
    if results["errors"]:
        raise ScfError("benchmark sections failed: " + ", ".join(e["section"] for e in results["errors"]))


def _require_dev_mode(settings: Settings) -> None:
    if not settings.dev_mode:
        raise ScfError("the demo registers made-up companies; it runs only in development mode (SCF_DEV_MODE=true)")


def demo() -> None:
    """Play the demo story: an invoice's certificate paid down a four-tier supply chain, financed and settled.

    On the embedded chain the whole story plays on a throwaway chain of its own, since it moves the clock to
    maturity; the chain of the data folder keeps today's date. On an external chain it stops before maturity.
    """
    from tools import demo as story

    settings = cli.read_settings()
    _require_dev_mode(settings)
    if settings.rpc_url:
        story.play(cli.open_runtime(settings), cli.console())
    else:
        story.play_on_throwaway_chain(settings, cli.console())


def _seed(runtime: Runtime, console: Console) -> None:
    """Seeds the demo consortium into an empty ledger, up to before maturity; a ledger with members is left as it is.

    The seed leaves the clock alone: the ledger's date stays today's (``scf chain advance`` moves it).
    """
    from tools import demo as story

    members = len(runtime.ledger.members())
    if members:
        console.print(f"the ledger has {members} members already; not seeding the demo (`scf demo` tells it whole)")
        return
    story.play(runtime, console)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Database(StrEnum):
    sqlite = "sqlite"
    postgres = "postgres"


def _local_database(settings: Settings, console: Console, stack: ExitStack) -> None:
    """Starts the data folder's own PostgreSQL server (unless it runs already) and points the gateway at it.

    The server is durable (its data in the data folder, ``postgres``), and stopped at the end only if this
    run started it. Its database ``scf`` is made on first use; the gateway finds it in SCF_DATABASE_URL.
    """
    from tools.postgres import LocalPostgres

    if settings.database_url is not None:
        raise ScfError(
            "SCF_DATABASE_URL names a database already, and --database postgres starts a server of its own: "
            "unset the one, or leave out the other"
        )
    server = LocalPostgres(settings.data_dir / "postgres")
    if server.running:
        console.print(f"using the PostgreSQL server already running in {server.data_dir}; it is left running")
    else:
        server.start()
        stack.callback(console.print, "PostgreSQL stopped; its data is kept")
        stack.callback(server.stop)
        console.print(f"PostgreSQL started on 127.0.0.1:{server.port} (data in {server.data_dir})")
    # In the environment, for any process the gateway starts as well as for this one's settings.
    os.environ["SCF_DATABASE_URL"] = server.create_database("scf")
    console.print(f"database: {server.url('scf')} (the gateway's store and the index)")


def run(
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed the demo consortium into an empty ledger.")
    ] = True,
    database: Annotated[
        Database,
        typer.Option(
            "--database",
            help="Where the gateway keeps its store and the index: SQLite files in the data folder, or a "
            "PostgreSQL server of the data folder's own (started here, with its data in the data folder).",
        ),
    ] = Database.sqlite,
) -> None:
    """Start the local chain, deploy, seed the demo, and serve until Ctrl-C; then stop the chain."""
    from api.commands import run_main_service
    from scf_chain.runtime import local_chain

    settings = cli.read_settings()
    console = cli.console()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl-C
    try:
        with ExitStack() as stack:  # what this run started, stopped in the reverse order
            if database is Database.postgres:
                _local_database(settings, console, stack)
                settings = cli.read_settings()
            if not settings.rpc_url:
                chain = local_chain(settings)
                running = chain.record()
                if running is None:
                    record = chain.start()
                    stack.callback(_stopped_chain, chain, console)
                    console.print(f"local chain started at {record.url} (state in {chain.directory})")
                else:
                    console.print(f"using the local chain already running at {running.url}; it is left running")
            runtime, new = cli.deploy_runtime(settings)
            d = runtime.deployment
            console.print(f"{'deployed a new' if new else 'reusing the'} ledger at {d.ledger} (block {d.block})")
            if seed and settings.dev_mode:
                _seed(runtime, console)
            elif seed:
                console.print("not seeding the demo outside development mode")
            try:
                run_main_service(runtime, console)
            except KeyboardInterrupt:
                console.print("stopping")
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped_chain(chain: LocalChain, console: Console) -> None:
    chain.stop()
    console.print(f"local chain stopped; its state is saved in {chain.state_path}")


def register(app: typer.Typer) -> None:
    """Adds the tools' commands to the command line."""
    app.command()(gas)
    app.command()(bench)
    app.command()(demo)
    app.command()(run)
