"""Wires settings into a working ledger: chain connection, keys, sender, deployment, client."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint

from scf_chain.chain.compiler import CompiledContract, compile_contracts
from scf_chain.chain.deploy import DESK_CONTRACT, LEDGER_CONTRACT, TOKEN_CONTRACT, Deployment, deploy, find_deployment
from scf_chain.chain.keys import DEV_SCRYPT_N, PRODUCTION_SCRYPT_N, KeyStore, anvil_account
from scf_chain.chain.local import LocalChain, rpc_answers
from scf_chain.chain.nodes import FailoverProvider
from scf_chain.chain.rpc import PooledHTTPProvider, shown_url
from scf_chain.chain.transactions import Journal, SignerLeases, TransactionSender
from scf_chain.client.clock import LedgerClock
from scf_chain.client.ledger import ContractAt, LedgerClient
from scf_chain.client.reverts import MemberNames, RevertDecoder, bare_address
from scf_chain.domain.errors import ChainUnavailable, KeyNotFound, NotDeployed
from scf_chain.index.indexer import Indexer, LedgerIndex
from scf_chain.settings import Settings

log = logging.getLogger(__name__)

# The operators this process has warned about signing with a public development key.
_WARNED_DEV_MODE: set[str] = set()


def local_chain(settings: Settings) -> LocalChain:
    return LocalChain(settings.data_dir / "chain", port=settings.chain_port, chain_id=settings.chain_id)


def rpc_url(settings: Settings) -> str:
    """The configured endpoint, else the running local chain of this data folder."""
    if settings.rpc_url:
        return settings.rpc_url
    record = local_chain(settings).record()
    return record.url if record else f"http://127.0.0.1:{settings.chain_port}"


# A block's extraData past its 32 bytes of vanity carries validators' data (Clique, IBFT, QBFT), which
# web3 refuses in a block unless ExtraDataToPOAMiddleware is in place.
VANITY_BYTES = 32
CLIQUE_SEAL_BYTES = 65
# Unset SCF_CONFIRMATIONS on a Clique chain, whose blocks are final only a little later (BFT ones at once).
CLIQUE_CONFIRMATIONS = 2


def rpc_urls(settings: Settings) -> list[str]:
    """The configured nodes (SCF_RPC_URL, comma-separated), else the running local chain of this data folder."""
    return settings.rpc_urls or [rpc_url(settings)]


def connect(settings: Settings) -> Web3:
    """The chain, through its one node, or through several with failover (scf_chain.chain.nodes); any node
    answering is enough. The POA middleware goes in when asked (SCF_POA) or when the chain's blocks carry
    validators' data."""
    urls = rpc_urls(settings)
    if not any(rpc_answers(url, timeout=2.0) for url in urls):
        shown = ", ".join(shown_url(url) for url in urls)
        raise ChainUnavailable(f"the chain at {shown} does not answer; start it with `scf chain up`")
    provider: PooledHTTPProvider | FailoverProvider
    if len(urls) == 1:
        provider = PooledHTTPProvider(urls[0])
    else:
        provider = FailoverProvider(urls, lag_after_s=settings.stall_after_s, halt_after_s=None)
        if not _mines_on_demand(provider):  # Anvil's automine makes no block while idle: that is no halt
            provider.halt_after_s = settings.stall_after_s
    w3 = Web3(provider)
    extra_data = _latest_extra_data(provider)
    if settings.poa or len(extra_data) > VANITY_BYTES:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    if "confirmations" not in settings.model_fields_set and _is_clique(provider, extra_data):
        log.info("a Clique chain: writes are answered %d blocks deep (set SCF_CONFIRMATIONS)", CLIQUE_CONFIRMATIONS)
        settings.confirmations = CLIQUE_CONFIRMATIONS
    return w3


def _raw(provider: JSONBaseProvider, method: str, params: list[Any]) -> Any:
    """A call's result without web3's formatters (which refuse a POA block), or None for an error answer."""
    try:
        return provider.make_request(RPCEndpoint(method), params).get("result")
    except ChainUnavailable:
        return None


def _latest_extra_data(provider: JSONBaseProvider) -> bytes:
    block = _raw(provider, "eth_getBlockByNumber", ["latest", False])
    extra = block.get("extraData") if isinstance(block, dict) else None
    return bytes(HexBytes(extra)) if isinstance(extra, str) else b""


def _is_clique(provider: JSONBaseProvider, extra_data: bytes) -> bool:
    """Clique: its signers answer, or the block's extraData is vanity and a seal (no validator list, as QBFT's)."""
    if isinstance(_raw(provider, "clique_getSigners", ["latest"]), list):
        return True
    return len(extra_data) == VANITY_BYTES + CLIQUE_SEAL_BYTES


def _mines_on_demand(provider: JSONBaseProvider) -> bool:
    """Whether the chain makes a block only for a transaction (Anvil's or Hardhat's automine)."""
    return any(_raw(provider, method, []) is True for method in ("anvil_getAutomine", "hardhat_getAutomine"))


def open_keystore(settings: Settings) -> KeyStore:
    scrypt_n = DEV_SCRYPT_N if settings.dev_mode else PRODUCTION_SCRYPT_N
    return KeyStore(settings.keystore_dir, settings.keystore_passphrase.get_secret_value(), scrypt_n=scrypt_n)


def operator_account(settings: Settings, keystore: KeyStore) -> LocalAccount:
    """The consortium operator's signing account."""
    if settings.dev_mode:
        account = anvil_account(0)
        if account.address not in _WARNED_DEV_MODE:  # once per process, however many runtimes it opens
            _WARNED_DEV_MODE.add(account.address)
            log.warning(
                "DEVELOPMENT MODE: the operator signs with Anvil's well-known account %s, whose key is public",
                account.address,
            )
        keystore.add(account)
        return account
    if not settings.operator_address:
        raise KeyNotFound("set SCF_OPERATOR_ADDRESS to the operator's address, whose key is in the key store")
    return keystore.account(settings.operator_address)


@dataclass
class Runtime:
    settings: Settings
    w3: Web3
    keystore: KeyStore
    contracts: dict[str, CompiledContract]
    sender: TransactionSender
    deployment: Deployment
    ledger: LedgerClient
    operator: LocalAccount
    clock: LedgerClock


def open_runtime(
    settings: Settings,
    *,
    deploy_if_missing: bool = False,
    journal: Journal | None = None,
    leases: SignerLeases | None = None,
) -> Runtime:
    """Connects to the chain and the deployed ledger, deploying it first if asked to.

    ``leases``: where other processes sign with the same keys (gateway replicas), the signers' leases they share.
    """
    w3 = connect(settings)
    keystore = open_keystore(settings)
    contracts = compile_contracts(settings.build_dir)
    abi = contracts[LEDGER_CONTRACT].abi
    abis = [contracts[name].abi for name in (LEDGER_CONTRACT, DESK_CONTRACT, TOKEN_CONTRACT)]
    chain_id = w3.eth.chain_id
    operator = operator_account(settings, keystore)
    deployment = find_deployment(w3, settings.manifest_path, contracts)
    if deployment is None:
        if not deploy_if_missing:
            raise NotDeployed(f"the ledger is not deployed on the chain at {rpc_url(settings)}; run `scf deploy`")
        # Before the ledger exists there are no members to name: its deployment's reverts name bare addresses.
        installer = _sender(w3, settings, chain_id, RevertDecoder(abis, bare_address), journal, leases)
        # ERC-721 tools find a certificate on the gateway; the operator can point it elsewhere later.
        gateway_certificates = f"http://{settings.api_host}:{settings.api_port}/v1/certificates/"
        deployment, _ = deploy(
            installer, operator, contracts, settings.manifest_path, token_uri_base=gateway_certificates
        )
    decoder = RevertDecoder(abis, MemberNames(w3, deployment.ledger, abi).describe)
    sender = _sender(w3, settings, chain_id, decoder, journal, leases)
    ledger = LedgerClient(
        w3,
        deployment.ledger,
        abi,
        sender,
        decoder=decoder,
        desk=ContractAt(deployment.settlement_desk, contracts[DESK_CONTRACT].abi),
        token=ContractAt(deployment.settlement_token, contracts[TOKEN_CONTRACT].abi),
    )
    clock = LedgerClock(w3, max_tenor_days=ledger.max_tenor_days())
    clock.seconds()  # the latest block's time, for what reads the clock without asking the chain
    return Runtime(settings, w3, keystore, contracts, sender, deployment, ledger, operator, clock)


def _sender(
    w3: Web3,
    settings: Settings,
    chain_id: int,
    decoder: RevertDecoder,
    journal: Journal | None,
    leases: SignerLeases | None,
) -> TransactionSender:
    return TransactionSender(
        w3,
        chain_id=chain_id,
        decode_revert=decoder,
        gas_price=settings.gas_price_wei,
        journal=journal,
        receipt_timeout=settings.receipt_timeout_s,
        max_pending_per_sender=settings.max_pending_per_sender,
        leases=leases,
    )


def event_indexer(runtime: Runtime, index: LedgerIndex) -> Indexer:
    """The indexer of this deployment's ledger, settlement desk and settlement token into ``index``."""
    return Indexer(
        runtime.w3,
        runtime.deployment.ledger,
        runtime.contracts[LEDGER_CONTRACT].abi,
        index,
        desk=(runtime.deployment.settlement_desk, runtime.contracts[DESK_CONTRACT].abi),
        token=runtime.deployment.settlement_token,
        confirmations=runtime.settings.confirmations,
    )
