"""The gateway's commands of the ``scf`` command line: ``scf serve`` and ``scf keys``.

The gateway registers :func:`register` in the entry-point group ``scf_chain.commands``, so
that the library's command line offers them without importing the gateway. The gateway
itself is imported only when a command runs, so that every other ``scf`` command starts
without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from scf_chain.cli.common import OPERATOR, Directory, UnknownMember, open_runtime, read_settings
from scf_chain.domain.types import MemberRole

if TYPE_CHECKING:
    from rich.console import Console

    from scf_chain.runtime import Runtime

keys_app = typer.Typer(help="API keys of the gateway.", no_args_is_help=True)


def serve_gateway(
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Gateway processes (replicas) serving the same address, each with a gateway of its own. More "
            "than one needs SCF_DATABASE_URL: the SQLite files serve one process. A worker that dies or hangs is "
            "started again; Ctrl-C or SIGTERM stops them all.",
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log a line for every request.")
    ] = True,
) -> None:
    """Serve the HTTP gateway on the configured chain (it must be up and, outside development, deployed)."""
    from api.serve import serve

    serve(read_settings(), workers=workers, access_log=access_log)


@keys_app.command("create")
def keys_create(member: Annotated[str, typer.Argument(help="Name or address of the member, or `operator`.")]) -> None:
    """Print a new API key for a member, and nothing else, so that scripts can use it."""
    from api.serve import create_api_key

    runtime = open_runtime()
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


def register(app: typer.Typer) -> None:
    """Adds ``scf serve`` and ``scf keys`` to the command line."""
    app.command("serve")(serve_gateway)
    app.add_typer(keys_app, name="keys")
