"""``scf chain`` (the local Anvil chain of the data folder) and ``scf deploy`` (the ledger on it)."""

from __future__ import annotations

from typing import Annotated

import typer

from scf_chain.cli.common import SECONDS_PER_DAY, console, deploy_runtime, read_settings
from scf_chain.domain.errors import ScfError
from scf_chain.settings import Settings

chain_app = typer.Typer(help="The local Anvil chain of this data folder.", no_args_is_help=True)


def _refuse_external_chain(settings: Settings) -> None:
    if settings.rpc_url:
        raise ScfError(f"SCF_RPC_URL is set ({settings.rpc_url}): that chain is not managed here")


@chain_app.command("up")
def chain_up() -> None:
    """Start the local chain of this data folder (or find it running); print its URL."""
    from scf_chain.runtime import local_chain

    settings = read_settings()
    _refuse_external_chain(settings)
    chain = local_chain(settings)
    running = chain.record()
    record = running or chain.start()
    state = "already running" if running else "started"
    console().print(f"local chain {state} at {record.url} (pid {record.pid}; state in {chain.directory})")


@chain_app.command("down")
def chain_down() -> None:
    """Stop the local chain cleanly; its state is saved in the data folder."""
    from scf_chain.runtime import local_chain

    settings = read_settings()
    _refuse_external_chain(settings)
    chain = local_chain(settings)
    if chain.stop():
        console().print(f"local chain stopped; its state is saved in {chain.state_path}")
    else:
        console().print(f"no local chain was running for {settings.data_dir}")


@chain_app.command("status")
def chain_status() -> None:
    """Whether the chain answers, its height, and the ledger deployed on it."""
    from web3 import Web3

    from scf_chain.chain.deploy import Deployment
    from scf_chain.chain.local import rpc_answers
    from scf_chain.runtime import local_chain

    settings = read_settings()
    output = console()
    if settings.rpc_url:
        url = settings.rpc_url
        if not rpc_answers(url, timeout=2.0):
            output.print(f"external chain at {url}: not answering")
            return
        output.print(f"external chain at {url}: answering")
    else:
        record = local_chain(settings).record()
        if record is None:
            output.print(f"local chain: not running (data folder {settings.data_dir})")
            return
        url = record.url
        output.print(f"local chain: running at {url} (pid {record.pid}; data folder {settings.data_dir})")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    output.print(f"chain id {w3.eth.chain_id}, block {w3.eth.block_number}")
    deployment = Deployment.load(settings.manifest_path)
    if (
        deployment
        and deployment.chain_id == w3.eth.chain_id
        and w3.eth.get_code(Web3.to_checksum_address(deployment.ledger))
    ):
        output.print(f"ledger: {deployment.ledger} (deployed in block {deployment.block})")
    else:
        output.print("ledger: not deployed (`scf deploy`)")


@chain_app.command("advance")
def chain_advance(
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days to move the clock forward.")],
) -> None:
    """Move the embedded development chain's clock N days forward (to reach maturity); it never goes back."""
    from scf_chain.domain.money import from_day
    from scf_chain.runtime import local_chain

    settings = read_settings()
    if settings.rpc_url:
        raise ScfError(
            f"SCF_RPC_URL is set ({settings.rpc_url}): only the embedded development chain's clock can be moved"
        )
    if not settings.dev_mode:
        raise ScfError("the chain's clock is moved only in development mode (SCF_DEV_MODE=true)")
    chain = local_chain(settings)
    if chain.record() is None:
        raise ScfError(f"no local chain is running for {settings.data_dir}; start it with `scf chain up` or `make run`")
    moved_to = chain.advance(days * SECONDS_PER_DAY)
    console().print(
        f"the chain's clock moved {days} days forward: the ledger's date is now {from_day(moved_to // SECONDS_PER_DAY)}"
    )


def deploy() -> None:
    """Deploy the ledger, or reuse the one this chain has already."""
    runtime, new = deploy_runtime(read_settings())
    d = runtime.deployment
    output = console()
    if new:
        output.print(f"deployed a new ledger at {d.ledger} in block {d.block} (chain {d.chain_id})")
    else:
        output.print(f"reusing the ledger at {d.ledger}, deployed in block {d.block} (chain {d.chain_id})")
    output.print(f"settlement token {d.settlement_token}, settlement desk {d.settlement_desk}; operator {d.operator}")


def register(app: typer.Typer) -> None:
    """Adds ``scf deploy`` and ``scf chain`` to the command line."""
    app.command()(deploy)
    app.add_typer(chain_app, name="chain")
