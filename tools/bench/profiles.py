"""How big each benchmark is: the full run, the quick one (under a minute) and the smoke test's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    # Gateway write throughput: concurrency levels, members, requests per run, runs per level.
    concurrency: tuple[int, ...]
    suppliers: int
    requests_per_client: int
    min_requests: int
    repeats: int
    raw_burst: int
    # The chain is reverted (and the gateway restarted) before every "run", or once per concurrency "level".
    isolate: str
    # Reads: ledger sizes (certificates) and requests per endpoint per round.
    read_sizes: tuple[int, ...]
    read_requests: int
    read_rounds: int
    # Transfer-parts by one client at each read size, through the gateway and raw.
    writes_at_size: int
    # Provenance: tree sizes (certificates) and requests per tree per round.
    provenance_sizes: tuple[int, ...]
    provenance_requests: int
    # Settlement: certificates of one issuance, and how many issuances are settled.
    settlement_certificates: int
    settlement_repeats: int
    # Indexer: rebuilds from block 0.
    indexer_repeats: int
    # py-spy profile of the gateway under load.
    profile: bool
    # Replicas: gateway processes sharing PostgreSQL (beside one on SQLite), runs of each configuration at
    # each concurrency level, and how often the chain is reverted: each "run", each "level", or once per
    # "configuration" (every level on one chain, and one start of the gateway: starting replicas is slow).
    replicas: tuple[int, ...] = (1, 2, 4)
    replica_repeats: int = 3
    replica_isolate: str = "run"
    # Seconds any one latency sampling may take, whatever the request count says.
    sample_budget_s: float = 20.0

    def requests_at(self, concurrency: int) -> int:
        return max(self.min_requests, self.requests_per_client * concurrency)


FULL = Profile(
    name="full",
    concurrency=(1, 8, 32),
    suppliers=32,
    requests_per_client=10,
    min_requests=120,
    repeats=3,
    raw_burst=320,
    isolate="run",
    read_sizes=(1_000, 10_000, 100_000),
    read_requests=200,
    read_rounds=3,
    writes_at_size=20,
    provenance_sizes=(100, 1_000, 10_000),
    provenance_requests=20,
    settlement_certificates=1_000,
    settlement_repeats=3,
    indexer_repeats=2,
    profile=True,
)

QUICK = Profile(
    name="quick",
    concurrency=(1, 8, 32),
    suppliers=8,
    requests_per_client=1,
    min_requests=8,
    repeats=2,
    raw_burst=64,
    isolate="level",
    read_sizes=(300, 1_000),
    read_requests=20,
    read_rounds=2,
    writes_at_size=4,
    provenance_sizes=(100, 1_000),
    provenance_requests=4,
    settlement_certificates=200,
    settlement_repeats=1,
    indexer_repeats=1,
    profile=False,
    sample_budget_s=4.0,
    replicas=(1, 2),
    replica_repeats=1,
    replica_isolate="configuration",
)

SMOKE = Profile(
    name="smoke",
    concurrency=(1, 4),
    suppliers=4,
    requests_per_client=2,
    min_requests=6,
    repeats=1,
    raw_burst=20,
    isolate="level",
    read_sizes=(100,),
    read_requests=8,
    read_rounds=1,
    writes_at_size=2,
    provenance_sizes=(100,),
    provenance_requests=3,
    settlement_certificates=100,
    settlement_repeats=1,
    indexer_repeats=1,
    profile=False,
    sample_budget_s=2.0,
    replicas=(1,),
    replica_repeats=1,
    replica_isolate="configuration",
)

PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}
