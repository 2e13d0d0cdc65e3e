"""Measures the provenance endpoint on a 10,000-certificate tree, through a real gateway process.

Runs on a fresh local chain of its own, in a temporary data folder, with real ledger
transactions only: an issuance split into 99 parts, each split again into 100, is a
tree of 1 + 99 + 9,900 = 10,000 certificates (100 split transactions). Around it the
ledger holds unrelated certificates, issuances split the same way: first about 1,000,
then about 100,000. A gateway (uvicorn, as in production) serves the obligor's
``GET /v1/certificates/{root}/provenance`` as JSON, timed from request to the last
byte; the same again as CSV and SVG, for a leaf deep in the tree, and for a holder who
sees part of the tree. The gateway keeps the trees it built until they change, so the
JSON reads are measured again on a gateway that keeps none: each read built from the
index, as the first read after a change is. Prints figures; asserts nothing.

Usage: python scripts/bench_provenance.py [--requests 50] [--unrelated 1000 100000] [--keep DIR]
       python scripts/bench_provenance.py --reuse DIR   (measure again on a kept ledger)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import httpx
from eth_account.signers.local import LocalAccount

from api.settings import gateway_settings
from api.store import GatewayStore
from scf_chain.chain.local import free_port
from scf_chain.domain.money import today_utc
from scf_chain.domain.types import MemberRole
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FAN_OUT = 100


class Ledger:
    """Writes issuances and splits them as wide and as deep as asked."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        ledger, operator, keystore = runtime.ledger, runtime.operator, runtime.keystore
        self.core = keystore.create()
        self.suppliers = [keystore.create() for _ in range(4)]
        self.outsider = keystore.create()
        ledger.register_member(operator, self.core.address, MemberRole.CORE_ENTERPRISE, "Bench Motors")
        for tier, supplier in enumerate(self.suppliers, start=1):
            ledger.register_member(operator, supplier.address, MemberRole.SUPPLIER, f"Bench Tier {tier}")
        ledger.register_member(operator, self.outsider.address, MemberRole.SUPPLIER, "Bench Outsider")
        ledger.set_credit_limit(operator, self.core.address, Decimal("100000000000.00"))
        self.maturity = today_utc() + timedelta(days=90)
        self.documents = 0
        self.certificates = 0
        self.splits = 0

    def issue(self, holder: LocalAccount, face: Decimal) -> int:
        self.documents += 1
        ledger = self.runtime.ledger
        root = ledger.issue(
            self.core,
            holder.address,
            face,
            self.maturity,
            f"0x{self.documents:064x}",
            invoice_number=f"BENCH-{self.documents:06d}",
        ).certificate_id
        ledger.accept(holder, root)
        self.certificates += 1
        return root

    def split(self, holder: LocalAccount, certificate_id: int, face: Decimal, parts: int) -> list[int]:
        """Splits into ``parts`` equal parts (the last takes the rounding), handing them round the suppliers."""
        share = (face / parts).quantize(Decimal("0.01"))
        receivers = [self.suppliers[i % len(self.suppliers)] for i in range(parts)]
        amounts = [share] * (parts - 1) + [face - share * (parts - 1)]
        plan: list[tuple[str, Decimal | str]] = [(r.address, a) for r, a in zip(receivers, amounts, strict=True)]
        ids = self.runtime.ledger.split(holder, certificate_id, plan).certificate_ids
        self.certificates += parts
        self.splits += 1
        return list(ids)

    def two_level_tree(self, first: int, second: int) -> tuple[int, int]:
        """An issuance split into ``first`` parts, each split into ``second``: (root, a leaf at the bottom)."""
        holder = self.suppliers[0]
        face = Decimal(first * second * 1000)
        root = self.issue(holder, face)
        children = self.split(holder, root, face, first)
        leaf = 0
        for index, child in enumerate(children):
            owner = self.suppliers[index % len(self.suppliers)]
            child_face = self.runtime.ledger.certificate(child).face_value
            leaf = self.split(owner, child, child_face, second)[-1]
        return root, leaf


def wait_ready(base_url: str, process: subprocess.Popen[bytes], head: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the gateway exited")
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=5)
            if response.status_code == 200 and response.json()["indexed_block"] >= head:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the gateway did not catch up with the chain")


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far; None where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timing(NamedTuple):
    samples: list[float]
    size: int
    cpu: float | None  # the gateway's CPU seconds per request


def timed(
    client: httpx.Client,
    pid: int,
    path: str,
    requests: int,
    before: Callable[[int], None] | None = None,
    **params: str,
) -> Timing:
    """``requests`` GETs of ``path``, each after ``before(n)`` (untimed) if given."""
    for _ in range(3):  # warm up: connections, the page cache
        client.get(path, params=params).raise_for_status()
    samples = []
    size = 0
    cpu_before = cpu_seconds(pid)
    for n in range(requests):
        if before is not None:
            before(n)
        started = time.perf_counter()
        response = client.get(path, params=params)
        response.read()
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    cpu_after = cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / requests
    return Timing(samples, size, cpu)


def report(label: str, timing: Timing) -> None:
    ordered = sorted(timing.samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    cpu = "" if timing.cpu is None else f"   gateway CPU {1000 * timing.cpu:6.1f} ms/read"
    print(
        f"  {label:<44} median {1000 * statistics.median(ordered):7.1f} ms   p99 {1000 * p99:7.1f} ms   "
        f"min {1000 * ordered[0]:7.1f} ms   {timing.size / 1e6:5.2f} MB{cpu}"
    )


def measure(base_url: str, pid: int, keys: dict[str, str], root: int, leaf: int, requests: int) -> None:
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    obligor = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys['obligor']}"}, timeout=120)
    holder = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys['holder']}"}, timeout=120)
    path = f"/v1/certificates/{root}/provenance"
    few = max(5, requests // 5)
    report("root, obligor, JSON (10,000 nodes)", timed(obligor, pid, path, requests))
    operator = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys['operator']}"}, timeout=120)

    def change_leaf(n: int) -> None:  # freeze, unfreeze: the write returns once indexed
        operator.post(f"/v1/certificates/{leaf}/{'unfreeze' if n % 2 else 'freeze'}").raise_for_status()

    # Untimed, CPU included: the write's share of the gateway's CPU is in the figure.
    report("root, obligor, JSON, first read after a change", timed(obligor, pid, path, requests, change_leaf))
    report("root, obligor, CSV", timed(obligor, pid, path, few, format="csv"))
    report("root, obligor, SVG", timed(obligor, pid, path, few, format="svg"))
    report("root, a holder of one leaf (partial), JSON", timed(holder, pid, path, requests))
    report("a leaf (path of 3), obligor, JSON", timed(obligor, pid, f"/v1/certificates/{leaf}/provenance", requests))
    started = time.perf_counter()
    verified = obligor.get(f"/v1/certificates/{root}/verify", timeout=600).json()
    print(
        f"  {'verify root against the chain (10,000 reads)':<44} {time.perf_counter() - started:7.2f} s, "
        f"verified={verified['verified']}"
    )


def measure_uncached(data_dir: Path, rpc_url: str, head: int, keys: dict[str, str], root: int, requests: int) -> None:
    """The same reads from a gateway that keeps no tree: each one built from the index, as after a change."""
    gateway, base_url = start_gateway(data_dir, rpc_url, cache_nodes=0)
    try:
        wait_ready(base_url, gateway, head)
        obligor = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys['obligor']}"}, timeout=120)
        holder = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys['holder']}"}, timeout=120)
        path = f"/v1/certificates/{root}/provenance"
        report("root, obligor, JSON, built afresh each read", timed(obligor, gateway.pid, path, requests))
        report("root, holder (partial), built afresh each read", timed(holder, gateway.pid, path, requests))
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)


def start_gateway(data_dir: Path, rpc_url: str, cache_nodes: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SCF_DATA_DIR": str(data_dir), "SCF_RPC_URL": rpc_url, "SCF_DEV_MODE": "true"}
    if cache_nodes is not None:
        env["SCF_PROVENANCE_CACHE_NODES"] = str(cache_nodes)
    env |= {"SCF_RATE_LIMIT_PER_MINUTE": "1000000", "SCF_RATE_LIMIT_BURST": "100000"}
    log = (data_dir / "gateway.log").open("ab")
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:app_factory", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--log-level", "warning"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    return process, f"http://127.0.0.1:{port}"


def build_and_measure(data_dir: Path, steps: list[int], requests: int) -> None:
    settings = Settings(data_dir=data_dir, chain_port=free_port(), rpc_url=None, dev_mode=True)
    cache = Settings().build_dir  # compiled contracts are shared by every data folder
    if cache.is_dir() and cache.resolve() != settings.build_dir.resolve():
        settings.build_dir.mkdir(parents=True, exist_ok=True)
        for cached in cache.glob("contracts-*.json"):
            shutil.copy2(cached, settings.build_dir / cached.name)
    chain = local_chain(settings)
    record = chain.start()
    gateway: subprocess.Popen[bytes] | None = None
    try:
        runtime = open_runtime(settings, deploy_if_missing=True)
        ledger = Ledger(runtime)
        started = time.perf_counter()
        root, leaf = ledger.two_level_tree(FAN_OUT - 1, FAN_OUT)
        # One leaf goes on to a supplier that holds nothing else: its view of the root is one branch.
        leaf_holder = runtime.keystore.account(runtime.ledger.certificate(leaf).holder or "")
        runtime.ledger.transfer(leaf_holder, leaf, ledger.outsider.address)
        tree_size = ledger.certificates
        print(
            f"the tree: {tree_size} certificates in {ledger.splits} splits, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        store = GatewayStore(gateway_settings(settings).gateway_db_path)
        keys = {
            "obligor": store.create_api_key(ledger.core.address),
            "holder": store.create_api_key(ledger.outsider.address),
            "operator": store.create_api_key(runtime.operator.address),
        }
        store.close()
        gateway, base_url = start_gateway(data_dir, record.url)
        for target in sorted(steps):
            started = time.perf_counter()
            while ledger.certificates - tree_size < target:
                wanted = target - (ledger.certificates - tree_size)
                if wanted >= FAN_OUT * FAN_OUT:
                    ledger.two_level_tree(FAN_OUT, FAN_OUT)
                elif wanted > FAN_OUT:
                    holder = ledger.suppliers[1]
                    face = Decimal(FAN_OUT * 1000)
                    ledger.split(holder, ledger.issue(holder, face), face, FAN_OUT)
                else:
                    ledger.issue(ledger.suppliers[1], Decimal(1000))
            head = runtime.w3.eth.block_number
            wrote = time.perf_counter() - started
            started = time.perf_counter()
            wait_ready(base_url, gateway, head)
            unrelated = ledger.certificates - tree_size
            (data_dir / "bench.json").write_text(
                json.dumps({"root": root, "leaf": leaf, "keys": keys, "unrelated": unrelated})
            )
            print(
                f"\n{unrelated} unrelated certificates (wrote {wrote:.1f} s, indexed within "
                f"{time.perf_counter() - started:.1f} s more); chain at block {head}"
            )
            measure(base_url, gateway.pid, keys, root, leaf, requests)
            measure_uncached(data_dir, record.url, head, keys, root, requests)
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=30)
        chain.stop()


def measure_again(data_dir: Path, requests: int) -> None:
    """Serves a folder an earlier run kept, and measures again without writing anything."""
    bench = json.loads((data_dir / "bench.json").read_text())
    settings = Settings(data_dir=data_dir, chain_port=free_port(), rpc_url=None, dev_mode=True)
    chain = local_chain(settings)
    record = chain.start()
    if "operator" not in bench["keys"]:  # kept by an earlier version of this script
        store = GatewayStore(gateway_settings(settings).gateway_db_path)
        bench["keys"]["operator"] = store.create_api_key(open_runtime(settings).operator.address)
        store.close()
    gateway, base_url = start_gateway(data_dir, record.url)
    try:
        head = int(
            httpx.post(record.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).json()["result"], 16
        )
        wait_ready(base_url, gateway, head)
        print(f"{bench['unrelated']} unrelated certificates (kept from an earlier run); chain at block {head}")
        measure(base_url, gateway.pid, bench["keys"], bench["root"], bench["leaf"], requests)
        measure_uncached(data_dir, record.url, head, bench["keys"], bench["root"], requests)
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
        chain.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="timed requests per figure")
    parser.add_argument(
        "--unrelated", type=int, nargs="+", default=[1000, 100_000], help="unrelated certificates, in steps"
    )
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it, instead of a temporary one")
    parser.add_argument("--reuse", type=Path, help="measure again on a folder kept with --keep; writes nothing")
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if options.reuse is not None:
        measure_again(options.reuse.resolve(), options.requests)
        return
    if options.keep is not None:
        options.keep.mkdir(parents=True)
        build_and_measure(options.keep.resolve(), options.unrelated, options.requests)
        return
    with tempfile.TemporaryDirectory(prefix="scf-bench-provenance-") as folder:
        build_and_measure(Path(folder), options.unrelated, options.requests)


if __name__ == "__main__":
    main()
