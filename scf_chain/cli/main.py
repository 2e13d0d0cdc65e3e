"""The ``scf`` command line: the local chain, deployment, members, credit lines, certificates, the demo.

Settings come from the environment (``SCF_DATA_DIR``, ``SCF_CHAIN_PORT``...), so two
checkouts with their own data folders never share a chain. Members are named by their
registered name, by address, or ``operator`` for the consortium operator. Each group of
commands lives in a module of its own beside this one; this one builds the app from them.

Errors are one sentence on stderr, ``error: <what went wrong and why>.``, with exit code
1 (2 for a command used wrongly); never a stack trace, an internal class name, a
private key or a passphrase. The development-mode warning is printed once per process.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import requests
import typer
from typer.core import TyperGroup

from scf_chain.cli import cash, certificates, chain, index, members, offers, settlement
from scf_chain.cli import common as cli
from scf_chain.cli.common import OPERATOR, Directory, UnknownMember, describe_error, fail
from scf_chain.domain.errors import ScfError
from scf_chain.domain.types import MemberRole
from scf_chain.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from scf_chain.runtime import Runtime


class _OneLineErrors(TyperGroup):
    """The top-level group: turns every expected failure into one line on stderr."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # usage errors (exit code 2) and the like, from typer's own click
            format_message = getattr(exc, "format_message", None)
            message = (format_message() if format_message else str(exc)).replace("Value error, ", "").rstrip(".")
            code = getattr(exc, "exit_code", 1)
            if not message:  # a group run without a command: its help is printed already
                sys.exit(code)
            context = getattr(exc, "ctx", None)
            if context is not None:
                message += f" (see `{context.command_path} --help`)"
            fail(message, code)
        except typer.Abort:
            fail("aborted", 1)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except ScfError as exc:
            fail(describe_error(exc))
        except requests.ConnectionError:
            fail("the connection to the chain was lost; is it still running? (`scf chain status`)")
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    help="scf-chain: a permissioned ledger of supply-chain finance payable certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a bug shows a plain traceback, never local variables
)


class StderrLogHandler(logging.Handler):
    """Writes ``warning: <message>`` lines to the stderr of the moment (which a test runner may swap)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {self.format(record)}\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    """Warnings of the library, the development-mode one among them, go to stderr once each."""
    logger = logging.getLogger("scf_chain")
    if not any(isinstance(handler, StderrLogHandler) for handler in logger.handlers):
        handler = StderrLogHandler(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


@app.callback()
def _main_callback() -> None:
    _configure_logging()


# scf gas, scf bench, scf demo, scf run


def gas() -> None:
    """Gas of every ledger operation beside token baselines, on a throwaway chain of its own."""
    from tools.gas import gas_report

    typer.echo(gas_report())


def bench(
    quick: Annotated[bool, typer.Option("--quick", help="A small run, under a minute, into bench/quick/.")] = False,
    smoke: Annotated[bool, typer.Option("--smoke", hidden=True, help="The test suite's tiniest run.")] = False,
) -> None:
    """Benchmark everything on a fresh chain and gateway: bench/results.json, bench/REPORT.md and plots."""
    from tools.bench import README_PATH, default_output_dir
    from tools.bench import run as run_benchmarks

    mode = "smoke" if smoke else "quick" if quick else "full"
    results = run_benchmarks(mode, readme=README_PATH if mode == "full" else None, console=cli.console())
    console = cli.console()
    for verdict in results["verdicts"]:
        console.print(f"{'met   ' if verdict['met'] else 'MISSED'}  {verdict['target']}: {verdict['measured']}")
    console.print(f"results in {default_output_dir(mode)} (REPORT.md, results.json); {results['duration_s']:.0f} s")
    if results["errors"]:
        raise ScfError("benchmark sections failed: " + ", ".join(e["section"] for e in results["errors"]))


def _require_dev_mode(settings: Settings) -> None:
    if not settings.dev_mode:
        raise ScfError("the demo registers made-up companies; it runs only in development mode (SCF_DEV_MODE=true)")


def demo() -> None:
    """Play the demo story: an invoice's certificate paid down a four-tier supply chain, discounted and settled.

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


def run(
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed the demo consortium into an empty ledger.")
    ] = True,
) -> None:
    """Start the local chain, deploy, seed the demo, and serve until Ctrl-C; then stop the chain."""
    from scf_chain.runtime import local_chain

    settings = cli.read_settings()
    console = cli.console()
    started = None
    if not settings.rpc_url:
        chain = local_chain(settings)
        running = chain.record()
        if running is None:
            record = chain.start()
            started = chain
            console.print(f"local chain started at {record.url} (state in {chain.directory})")
        else:
            console.print(f"using the local chain already running at {running.url}; it is left running at the end")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl-C
    try:
        runtime, new = cli.deploy_runtime(settings)
        d = runtime.deployment
        console.print(f"{'deployed a new' if new else 'reusing the'} ledger at {d.ledger} (block {d.block})")
        if seed and settings.dev_mode:
            _seed(runtime, console)
        elif seed:
            console.print("not seeding the demo outside development mode")
        run_main_service(runtime, console)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if started is not None:
            started.stop()
            console.print(f"local chain stopped; its state is saved in {started.state_path}")


# scf serve, scf keys, and the gateway that `scf run` serves

keys_app = typer.Typer(help="API keys of the gateway.", no_args_is_help=True)


def serve_gateway() -> None:
    """Serve the HTTP gateway on the configured chain (it must be up and, outside development, deployed)."""
    from api.serve import serve

    serve(cli.read_settings())


def keys_create(member: Annotated[str, typer.Argument(help="Name or address of the member, or `operator`.")]) -> None:
    """Print a new API key for a member, and nothing else, so that scripts can use it."""
    from api.serve import create_api_key

    runtime = cli.open_runtime()
    address = Directory(runtime).address(member)
    if address != runtime.operator.address and runtime.ledger.member(address).role is MemberRole.NONE:
        raise UnknownMember(f"{address} is not a member of the consortium")
    typer.echo(create_api_key(runtime.settings, address))


def run_main_service(runtime: Runtime, console: Console) -> None:
    """The main service of ``scf run``: the HTTP gateway, in the foreground until Ctrl-C.

    Before serving, it lists the operator and every member whose signing key this
    gateway keeps, with an API key for those that have none yet, so that the demo can be
    driven at once. A member with a key keeps it: a restart mints no second key.
    """
    from api.serve import create_api_key, members_with_api_keys, serve
    from scf_chain.runtime import rpc_url

    settings = runtime.settings
    console.rule("Members and API keys (a key is shown once; only its hash is kept)")
    members: list[tuple[str, str, str]] = [(OPERATOR, "operator", runtime.operator.address)]
    members += [
        (member.name, member.role.label, member.address)
        for member in runtime.ledger.members()
        if member.address in runtime.keystore and not member.frozen
    ]
    with_keys = members_with_api_keys(settings)
    for name, role, address in members:
        key = "has a key" if address in with_keys else create_api_key(settings, address)
        # One unwrapped line per member, so that a key can be copied whole.
        console.print(f"{name:<28} {role:<16} {address}  {key}", soft_wrap=True, markup=False, highlight=False)
    if any(address in with_keys for _, _, address in members):
        console.print(
            "Keys made earlier still work. For a new one: scf keys create NAME (or operator); "
            "DELETE /v1/members/{address}/api-keys revokes a member's keys."
        )
    url = f"http://{settings.api_host}:{settings.api_port}"
    console.rule("ready")
    console.print(f"gateway: {url}  (interactive docs: {url}/docs, explorer: {url}/explorer)")
    console.print(f"chain:   {rpc_url(runtime.settings)}")
    console.print(f"ledger:  {runtime.deployment.ledger}")
    console.print("press Ctrl-C to stop")
    serve(settings)


# Registered in this order, the order of `scf --help`.
chain.register(app)
app.command()(gas)
app.command()(bench)
app.command()(demo)
index.register(app)
app.command("serve")(serve_gateway)
app.command()(run)
cash.register(app)
settlement.register(app)
members.register(app)
certificates.register(app)
keys_app.command("create")(keys_create)
app.add_typer(keys_app, name="keys")
offers.register(app)


def main() -> None:
    """The ``scf`` console script."""
    app()


if __name__ == "__main__":
    main()
