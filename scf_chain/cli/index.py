"""``scf index``: the event index of the data folder, brought up to date with the chain or rebuilt."""

from __future__ import annotations

from typing import Annotated

import typer

from scf_chain.cli.common import open_runtime


def index_events(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and rebuild it from block 0.")] = False,
) -> None:
    """Bring the event index in the data folder up to date with the chain, or rebuild it."""
    from scf_chain.index.indexer import LedgerIndex
    from scf_chain.runtime import event_indexer

    runtime = open_runtime()
    with LedgerIndex(runtime.settings.index_database) as index:
        indexer = event_indexer(runtime, index)
        block = indexer.rebuild() if rebuild else indexer.sync()
        typer.echo(f"indexed to block {block}: {index.event_count()} events")


def register(app: typer.Typer) -> None:
    """Adds ``scf index`` to the command line."""
    app.command("index")(index_events)
