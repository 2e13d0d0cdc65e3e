"""The library's exceptions: one base, then one class per thing that can go wrong."""

from __future__ import annotations


class ScfError(Exception):
    """Base of every scf-chain error. The message is meant for a person."""


class ChainUnavailable(ScfError):
    """The chain's JSON-RPC endpoint does not answer."""


class DatabaseUnavailable(ScfError):
    """The database of the gateway's store or of the index does not answer (its server stopped or is out of reach).

    Whatever the failed statement's transaction wrote was rolled back; the next statement connects again.
    """


class NotDeployed(ScfError):
    """No deployment of the ledger exists on this chain."""


class InvalidAmount(ScfError, ValueError):
    """An amount that is not a positive number of whole minor units."""


class KeyNotFound(ScfError):
    """No key is kept for the account or name asked for."""


class TransactionFailed(ScfError):
    """A transaction reverted without a known reason, or was not mined in time."""


class SignerBusy(ScfError):
    """Another gateway process held a signer's lease in the shared database for longer than a request waits for
    it. Nothing was signed: the request may simply be sent again shortly."""
