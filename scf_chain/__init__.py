"""scf-chain: a permissioned ledger of supply-chain finance certificates."""

__version__ = "0.1.0"
