"""Read latency through the gateway: certificate listings and single certificates at growing ledger sizes,
and provenance of certificate trees of growing size.

Ledgers are written with 100-way splits (one transaction makes 100 certificates),
level by level, each level's transactions sent back to back and mined in full blocks.
Reads are sequential requests from one client; each endpoint is sampled in several
rounds, and the report gives the median over rounds of each percentile.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.domain.money import from_day
from scf_chain.domain.types import MemberRole
from scf_chain.index.indexer import LedgerIndex
from tools.bench.chainops import Node, deepest, walk
from tools.bench.environment import Ledger
from tools.bench.load import Holdings
from tools.bench.profiles import Profile
from tools.bench.stats import latency_summary, median_of
from tools.bench.throughput import single_client_writes
from tools.bench.ui import Advance, Steps

LARGEST_TREE = 10_101  # an issuance split in 100, each part split in 100 again
READ_KEYS = ("p50_ms", "p95_ms", "p99_ms", "mean_ms")
PROVENANCE_PATH = re.compile(r"^/v1/certificates/\{[^}]+\}/provenance$")


class Reader:
    """Sequential GET requests as one member, timed."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", timeout=300)

    def sample(
        self,
        paths: Callable[[int], str],
        count: int,
        budget_s: float,
        advance: Advance,
        before: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Up to ``count`` requests (at least 3, at most ``budget_s`` seconds); latencies of the 200 answers.

        ``before(n)``, untimed, runs ahead of request ``n``.
        """
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        deadline = time.monotonic() + budget_s
        for n in range(count):
            if before is not None:
                before(n)
            started = time.perf_counter()
            response = self.get(paths(n))
            elapsed = time.perf_counter() - started
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                latencies.append(elapsed)
            advance(1)
            if n >= 2 and time.monotonic() > deadline:
                advance(count - n - 1)
                break
        return {**latency_summary(latencies), "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def _rounds(
    reader: Reader,
    paths: Callable[[int], str],
    profile: Profile,
    count: int,
    advance: Advance,
    before: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    runs = [reader.sample(paths, count, profile.sample_budget_s, advance, before) for _ in range(profile.read_rounds)]
    return {"rounds": runs, "median": median_of(runs, READ_KEYS)}


def _change_leaf(reader: Reader, leaf_id: int) -> Callable[[int], None]:
    """Freezes and unfreezes a leaf in turn (the write returns once indexed): the tree is new for the next read."""

    def change(n: int) -> None:
        action = "unfreeze" if n % 2 else "freeze"
        response = reader.session.post(f"{reader.base_url}/v1/certificates/{leaf_id}/{action}", timeout=300)
        response.raise_for_status()

    return change


def _always(path: str) -> Callable[[int], str]:
    return lambda _: path


def _certificate_of(rng: random.Random, ids: Sequence[int]) -> Callable[[int], str]:
    """Paths of certificates drawn at random from ``ids``."""
    return lambda _: f"/v1/certificates/{rng.choice(ids)}"


def _total(reader: Reader) -> int:
    return int(reader.get("/v1/certificates?limit=1").json()["total"])


def grow(ledger: Ledger, core: LocalAccount, holders: Sequence[LocalAccount], count: int) -> list[Node]:
    """Adds about ``count`` certificates as trees of at most 10,101; returns their roots."""
    roots: list[Node] = []
    maturity = from_day(ledger.chain_today() + 90)
    while count > 0:
        nodes = min(LARGEST_TREE, count)
        nodes = 3 if nodes == 2 else nodes
        roots.append(
            ledger.writer.tree(
                core, holders[len(roots) % len(holders)], nodes, maturity, lambda k: holders[k % len(holders)]
            )
        )
        count -= nodes
    return roots


def measure_reads(ledger: Ledger, profile: Profile, steps: Steps) -> dict[str, Any]:
    """Listing and single reads at each ledger size of the profile; this ledger holds nothing else."""
    core = ledger.core_enterprise("Bench Reads Motors")
    holders = ledger.members(MemberRole.SUPPLIER, [f"Bench Reads Supplier {n + 1}" for n in range(8)])
    operator = Reader(ledger.api_url, ledger.api_key(ledger.operator.address))
    member = Reader(ledger.api_url, ledger.api_key(holders[0].address))
    member_ids: list[int] = []
    rng = random.Random(7)
    sizes = []
    for size in profile.read_sizes:
        before = _total(operator)
        transactions = ledger.writer.transactions
        with steps.task(f"reads: writing the ledger up to {size:,} certificates", total=None):
            started = time.perf_counter()
            roots = grow(ledger, core, holders, size - before)
            written = time.perf_counter() - started
            indexed = ledger.wait_indexed()
        leaves: dict[int, list[int]] = {n: [] for n in range(4)}
        for root in roots:
            for node in walk(root):
                if not node.children:
                    for n in range(4):
                        if node.holder.address == holders[n].address:
                            leaves[n].append(node.id)
        member_ids += leaves[0]
        total = _total(operator)
        build = {
            "certificates_added": total - before,
            "transactions": ledger.writer.transactions - transactions,
            "write_seconds": round(written, 3),
            "index_catch_up_seconds": round(indexed, 3),
            "certificates_per_s": round((total - before) / (written + indexed), 1) if total > before else None,
        }
        count = profile.read_requests
        endpoints: dict[str, Any] = {}
        with steps.task(f"reads: sampling at {total:,} certificates", total=5 * count * profile.read_rounds) as advance:
            first_page = _always("/v1/certificates?limit=50")
            endpoints["list"] = _rounds(operator, first_page, profile, count, advance)
            endpoints["list_member"] = _rounds(member, first_page, profile, count, advance)
            last_page = _always(f"/v1/certificates?limit=50&offset={max(total - 50, 0)}")
            endpoints["list_last_page"] = _rounds(operator, last_page, profile, count, advance)
            any_id = _certificate_of(rng, list(range(1, total + 1)))
            endpoints["get"] = _rounds(operator, any_id, profile, count, advance)
            own_id = _certificate_of(rng, list(member_ids))
            endpoints["get_member"] = _rounds(member, own_id, profile, count, advance)
        # Writes at this size, by one client: members 0 and 2 through the gateway, 1 and 3 raw, paying each other.
        count = profile.writes_at_size
        with steps.task(f"reads: writes at {total:,} certificates", total=None):
            gateway = Holdings([holders[0], holders[2]], {0: leaves[0][-count:], 1: leaves[2][-count:]})
            raw = Holdings([holders[1], holders[3]], {0: leaves[1][-count:], 1: leaves[3][-count:]})
            writes = single_client_writes(ledger, gateway, raw, count)
        sizes.append({"certificates": total, "build": build, "endpoints": endpoints, "writes": writes})
        steps.note(
            f"  {total:>7,} certificates (written in {written:.1f} s, indexed {indexed:.1f} s later): "
            f"list p50 {endpoints['list']['median']['p50_ms']:.1f} ms, "
            f"get p50 {endpoints['get']['median']['p50_ms']:.1f} ms"
        )
    return {"sizes": sizes}


def provenance_endpoint(ledger: Ledger) -> str | None:
    """The provenance route's path template if this gateway serves one, from its OpenAPI document."""
    paths = requests.get(f"{ledger.api_url}/openapi.json", timeout=30).json().get("paths", {})
    for path, methods in paths.items():
        if PROVENANCE_PATH.match(path) and "get" in methods:
            return str(path)
    return None


def measure_provenance(ledger: Ledger, profile: Profile, steps: Steps) -> dict[str, Any]:
    """Provenance of trees of each size: the HTTP endpoint if it exists, and the index queries beneath it."""
    endpoint = provenance_endpoint(ledger)
    core = ledger.core_enterprise("Bench Provenance Motors")
    holders = ledger.members(MemberRole.SUPPLIER, [f"Bench Provenance Supplier {n + 1}" for n in range(8)])
    operator = Reader(ledger.api_url, ledger.api_key(ledger.operator.address))
    maturity = from_day(ledger.chain_today() + 90)
    trees = []
    with steps.task("provenance: writing certificate trees", total=len(profile.provenance_sizes)) as advance:
        for size in profile.provenance_sizes:
            trees.append(
                ledger.writer.tree(core, holders[0], size, maturity, lambda k: holders[(k + 1) % len(holders)])
            )
            advance(1)
    ledger.wait_indexed()
    results = []
    count = profile.provenance_requests
    for size, root in zip(profile.provenance_sizes, trees, strict=True):
        leaf = deepest(root)
        entry: dict[str, Any] = {"nodes": size, "root_id": root.id, "leaf_id": leaf.id, "depth": _depth(root)}
        per_tree = (5 if endpoint else 0) * count * profile.read_rounds + 2 * profile.read_rounds
        with steps.task(f"provenance: tree of {size:,} certificates", total=per_tree) as advance:
            if endpoint:
                root_path = endpoint.replace(endpoint[endpoint.index("{") : endpoint.index("}") + 1], str(root.id))
                leaf_path = endpoint.replace(endpoint[endpoint.index("{") : endpoint.index("}") + 1], str(leaf.id))
                # Built afresh from the index for each read (the tree changed just before it), then read again
                # unchanged, as the gateway keeps the last tree it built.
                change = _change_leaf(operator, leaf.id)
                entry["http_root_after_change"] = _rounds(operator, _always(root_path), profile, count, advance, change)
                entry["http_root"] = _rounds(operator, _always(root_path), profile, count, advance)
                entry["http_leaf"] = _rounds(operator, _always(leaf_path), profile, count, advance)
                entry["http_root_bytes"] = len(operator.get(root_path).content)
                # For comparison, plain reads of the same certificates (each with its child ids).
                root_read, leaf_read = _always(f"/v1/certificates/{root.id}"), _always(f"/v1/certificates/{leaf.id}")
                entry["http_certificate"] = _rounds(operator, root_read, profile, count, advance)
                entry["http_leaf_certificate"] = _rounds(operator, leaf_read, profile, count, advance)
            entry["index"] = _index_queries(ledger.settings.index_db_path, root.id, leaf.id, profile, advance)
        results.append(entry)
        summary = f"  tree of {size:,}: index subtree {entry['index']['subtree']['median']['p50_ms']:.1f} ms"
        if endpoint:
            summary += (
                f", GET provenance (root) p50 {entry['http_root']['median']['p50_ms']:.1f} ms"
                f" ({entry['http_root_after_change']['median']['p50_ms']:.1f} ms after a change)"
            )
        steps.note(summary)
    routes_file = PROJECT_ROOT / "api" / "routes" / "provenance.py"
    return {
        "endpoint": endpoint,
        "endpoint_present": endpoint is not None,
        "routes_file_present": routes_file.exists(),
        "trees": results,
    }


def _depth(root: Node) -> int:
    depth, level = 0, [root]
    while any(node.children for node in level):
        level = [child for node in level for child in node.children]
        depth += 1
    return depth


def _index_queries(path: Path, root_id: int, leaf_id: int, profile: Profile, advance: Advance) -> dict[str, Any]:
    """The read model's own subtree and path-to-root queries, in this process, on the gateway's index file."""
    figures: dict[str, Any] = {}
    with LedgerIndex(path) as index:
        for name, query in (
            ("subtree", lambda: index.subtree(root_id)),
            ("path_to_root", lambda: index.path_to_root(leaf_id)),
        ):
            runs = []
            for _ in range(profile.read_rounds):
                latencies = []
                deadline = time.monotonic() + profile.sample_budget_s
                for n in range(max(profile.provenance_requests, 3)):
                    started = time.perf_counter()
                    rows = query()
                    latencies.append(time.perf_counter() - started)
                    if n >= 2 and time.monotonic() > deadline:
                        break
                runs.append({**latency_summary(latencies), "rows": len(rows)})
                advance(1)
            figures[name] = {"rounds": runs, "median": median_of(runs, READ_KEYS), "rows": runs[0]["rows"]}
    return figures
