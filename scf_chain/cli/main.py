"""The ``scf`` command line: the local chain, deployment, members, credit lines, certificates, cash, settlement.

Settings come from the environment (``SCF_DATA_DIR``, ``SCF_CHAIN_PORT``...), so two
checkouts with their own data folders never share a chain. Members are named by their
registered name, by address, or ``operator`` for the consortium operator.

The library's own commands live in the modules beside this one. Packages above the library
add theirs through the entry points of the group ``scf_chain.commands``: each names a
``register(app)`` that adds commands to the app (the gateway adds ``serve`` and ``keys``, the
tools ``run``, ``demo``, ``bench`` and ``gas``), so that the library never imports them.

Errors are one sentence on stderr, ``error: <what went wrong and why>.``, with exit code
1 (2 for a command used wrongly); never a stack trace, an internal class name, a
private key or a passphrase. The development-mode warning is printed once per process.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

import requests
import typer
from typer.core import TyperGroup

from scf_chain.cli import cash, certificates, chain, index, members, offers, settlement
from scf_chain.cli.common import describe_error, fail, one_line
from scf_chain.domain.errors import ScfError

COMMAND_GROUPS = "scf_chain.commands"


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
        for warning in _missing_groups:
            typer.echo(warning, err=True)
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


def add_command_groups(target: typer.Typer) -> list[str]:
    """Adds the commands of every installed ``scf_chain.commands`` entry point; returns a warning for each that fails.

    A group that cannot be loaded (a package missing, a broken install) costs only its own
    commands: the library's, and the other groups', still work.
    """
    warnings = []
    for entry_point in sorted(entry_points(group=COMMAND_GROUPS), key=lambda e: e.name):
        try:
            entry_point.load()(target)
        except Exception as exc:  # whatever breaks a group, the rest of the command line must run
            reason = one_line(str(exc)) or type(exc).__name__
            warnings.append(
                f"warning: the {entry_point.name} commands are missing: {entry_point.value} failed to load ({reason})"
            )
    return warnings


for _module in (chain, index, cash, settlement, members, certificates, offers):
    _module.register(app)
_missing_groups = add_command_groups(app)


def main() -> None:
    """The ``scf`` console script."""
    app()


if __name__ == "__main__":
    main()
