"""`scf deposit`, `scf settle` and `scf offer create|list|accept`: cash, financing and settlement on the command line.

Every command runs as a child process on a local chain of this module's own; what the
commands print is checked against the ledger itself, read in this process.
"""

from __future__ import annotations

import json
import re
import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from scf_chain.domain.money import from_day
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings
from tests.cli.test_cli import run_scf

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{40}\b")
CERTIFICATE = re.compile(r"#(\d+)")
OFFER = re.compile(r"^offer ([0-9a-f]{12}): ", re.MULTILINE)
DEV_WARNING = "warning: DEVELOPMENT MODE: "
MEMBERS = [
    ("Acme Motors", "core-enterprise"),
    ("Tier One Parts", "supplier"),
    ("Tier Two Parts", "supplier"),
    ("First Bank", "financier"),
]


def ok(*args: str) -> str:
    result = run_scf(*args)
    assert result.returncode == 0, f"scf {' '.join(args)}: {result.stderr}"
    return result.stdout


def error(*args: str) -> str:
    """Runs ``scf``, which must fail with exit code 1 and one error line, reading as a sentence."""
    result = run_scf(*args)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith(DEV_WARNING)]
    assert line.startswith("error: ") and line.endswith("."), line
    return line


@pytest.fixture(scope="module")
def runtime(data_dir: Path) -> Iterator[Runtime]:
    """A chain and ledger of this module, with a core enterprise, two suppliers and a bank; read in this process."""
    started = run_scf("chain", "up")
    assert started.returncode == 0, started.stderr
    try:
        ok("deploy")
        for name, role in MEMBERS:
            ok("member", "add", name, "--role", role)
        ok("credit", "set", "Acme Motors", "5000000.00")
        yield open_runtime(Settings())
    finally:
        local_chain(Settings()).stop()


def address(runtime: Runtime, name: str) -> str:
    return next(m.address for m in runtime.ledger.members() if m.name == name)


def ledger_today(runtime: Runtime) -> str:
    return from_day(runtime.w3.eth.get_block("latest")["timestamp"] // 86_400).isoformat()


def issue(runtime: Runtime, amount: str, maturity: str, to: str = "Tier One Parts") -> int:
    document = Path(Settings().data_dir) / f"invoice-{uuid.uuid4()}.txt"
    document.write_text(f"INVOICE {uuid.uuid4()}\n")
    out = ok("cert", "issue", "--from", "Acme Motors", "--to", to, "--amount", amount, "--maturity", maturity,
             "--document", str(document), "--invoice", f"INV-{uuid.uuid4()}")  # fmt: skip
    certificate_id = int(CERTIFICATE.search(out).group(1))  # type: ignore[union-attr]
    ok("cert", "accept", str(certificate_id), "--as", to)
    return certificate_id


def test_deposit_withdraw_and_balance_move_settlement_tokens(runtime: Runtime) -> None:
    bank = address(runtime, "First Bank")
    before = runtime.ledger.balance_of(bank)
    out = ok("deposit", "First Bank", "1250.50")
    assert out.startswith("deposited CNY 1,250.50 for First Bank; it holds CNY ")
    assert runtime.ledger.balance_of(bank) - before == Decimal("1250.50")
    assert ok("withdraw", bank, "0.50").startswith("withdrew CNY 0.50 for First Bank")
    assert runtime.ledger.balance_of(bank) - before == Decimal("1250.00")
    shown = ok("balance", "First Bank")
    assert shown.startswith(f"First Bank holds CNY {runtime.ledger.balance_of(bank):,.2f}; the settlement desk may")
    too_much = error("withdraw", "First Bank", "99999999.00")
    assert too_much.startswith("error: First Bank holds ") and "ERC20" not in too_much
    assert error("deposit", "First Bank", "1.001") == (
        "error: 1.001 has more than 2 decimal places; amounts are in whole fen (0.01)."
    )


def test_settle_pays_every_holder_of_an_issuance_once_from_maturity(runtime: Runtime) -> None:
    ledger = runtime.ledger
    root = issue(runtime, "1000.00", ledger_today(runtime))
    out = ok("cert", "transfer", str(root), "--as", "Tier One Parts", "--to", "Tier Two Parts", "--amount", "300.00")
    remainder, part = (int(i) for i in CERTIFICATE.findall(out)[1:3][::-1])  # "#part ... the remainder #remainder"
    tier1, tier2, core = (address(runtime, n) for n in ("Tier One Parts", "Tier Two Parts", "Acme Motors"))
    balances = {who: ledger.balance_of(who) for who in (tier1, tier2, core)}

    # Without the money, nothing is sent: no approval, no payment.
    short = error("settle", str(root))
    assert short.startswith("error: Acme Motors holds ") and f"settling issuance {root} needs 1,000.00" in short
    assert ledger.settled_amount(root) == 0 and ledger.allowance(core) == 0

    ok("deposit", "Acme Motors", "1000.00")
    paid = ok("settle", str(root))
    assert "paid 2 certificates, CNY 1,000.00, in batch 1" in paid
    assert f"#{remainder} to Tier One Parts: CNY 700.00" in paid and f"#{part} to Tier Two Parts: CNY 300.00" in paid
    assert f"Acme Motors paid CNY 1,000.00 for issuance #{root} in 1 transaction;" in paid
    assert ledger.settled_amount(root) == Decimal("1000.00")
    assert ledger.balance_of(tier1) - balances[tier1] == Decimal("700.00")
    assert ledger.balance_of(tier2) - balances[tier2] == Decimal("300.00")
    assert ledger.balance_of(core) == balances[core] and ledger.allowance(core) == 0  # approved exactly the total
    assert {ledger.certificate(i).status.label for i in (remainder, part)} == {"settled"}

    assert ok("settle", str(root)).startswith("nothing to pay")
    assert ledger.settled_amount(root) == Decimal("1000.00")
    assert error("settle", str(part)) == f"error: Certificate {part} is part of issuance {root}; settle it with " + (
        f"`scf settle {root}`."
    )


def test_settle_before_maturity_is_refused_with_a_sentence(runtime: Runtime) -> None:
    later = (from_day(runtime.w3.eth.get_block("latest")["timestamp"] // 86_400) + timedelta(days=30)).isoformat()
    root = issue(runtime, "10.00", later)
    ok("deposit", "Acme Motors", "10.00")
    refused = error("settle", str(root))
    assert later in refused and "NotYetMatured" not in refused
    assert runtime.ledger.settled_amount(root) == 0


def test_offers_are_created_listed_and_accepted_for_no_more_than_they_were_priced_for(
    runtime: Runtime, data_dir: Path
) -> None:
    ledger = runtime.ledger
    later = (from_day(runtime.w3.eth.get_block("latest")["timestamp"] // 86_400) + timedelta(days=90)).isoformat()
    certificate_id = issue(runtime, "100000.00", later)
    bank, tier1 = address(runtime, "First Bank"), address(runtime, "Tier One Parts")
    ok("deposit", "First Bank", "200000.00")
    allowance = ledger.allowance(bank)

    created = ok("offer", "create", str(certificate_id), "--as", "First Bank", "--rate", "0.05", "--amount", "10000")
    (offer_id,) = OFFER.findall(created)
    assert f"First Bank buys up to CNY 10,000.00 of certificate #{certificate_id} from Tier One Parts" in created
    assert "accepted today it pays CNY 9,876.71 (CNY 123.29 interest, 90 days)" in created
    assert ledger.allowance(bank) - allowance == Decimal("9876.71")  # raised by the offer's own price only
    saved = data_dir / "offers" / f"{offer_id}.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    kept = json.loads(saved.read_text())
    assert kept["offer"]["amount"] == "10000.00" and kept["offer"]["seller"] == tier1

    listing = ok("offer", "list", "--certificate", str(certificate_id))
    (row,) = [line for line in listing.splitlines() if line.startswith(offer_id)]
    assert "First Bank" in row and "Tier One Parts" in row and "CNY 10,000.00" in row and row.endswith("open")

    # The seller asks for the whole certificate on an offer priced for a tenth of it: refused, nothing moves.
    balances = (ledger.balance_of(bank), ledger.balance_of(tier1))
    refused = error("offer", "accept", offer_id, "--as", "Tier One Parts", "--amount", "100000.00")
    assert refused.startswith("error: 100,000.00 is more than the 10,000.00 that First Bank offered to buy")
    assert (ledger.balance_of(bank), ledger.balance_of(tier1)) == balances
    assert ledger.certificate(certificate_id).holder == tier1

    sold = ok("offer", "accept", offer_id, "--as", "Tier One Parts")
    assert "(CNY 10,000.00) to First Bank for CNY 9,876.71 (CNY 123.29 interest, 90 days to maturity)" in sold
    assert ledger.balance_of(tier1) - balances[1] == Decimal("9876.71")
    assert balances[0] - ledger.balance_of(bank) == Decimal("9876.71")
    financed = int(CERTIFICATE.search(sold).group(1))  # type: ignore[union-attr]
    assert (ledger.certificate(financed).holder, ledger.certificate(financed).face_value) == (bank, Decimal("10000.00"))

    assert ok("offer", "list").startswith("no open offers in ")
    assert "used (accepted or withdrawn)" in ok("offer", "list", "--all")
    assert "accepted or withdrawn already" in error("offer", "accept", offer_id, "--as", "Tier One Parts")
    assert error("offer", "accept", "ffffffffffff", "--as", "Tier One Parts").startswith("error: No offer in ")
    broken = data_dir / "broken.json"
    broken.write_text("{not json")
    assert error("offer", "accept", str(broken), "--as", "Tier One Parts").startswith(f"error: {broken} cannot be read")
    # Where the offers live is in the help.
    assert "into the folder `offers` of the data folder" in " ".join(ok("offer", "--help").split())
