"""The gauntlet's strength and figures, shared by its fuzzers, fault tests and soak.

Every gauntlet test is marked ``gauntlet``. ``make test`` runs them at their quick strength;
``make gauntlet`` sets ``SCF_GAUNTLET=full`` and runs only them, at full strength, and then
``scripts/gauntlet_report.py`` prints one table from the figures each test recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIGURES_DIR = PROJECT_ROOT / "test-artifacts" / "gauntlet"

T = TypeVar("T")


def full() -> bool:
    """Whether this is ``make gauntlet``'s run at full strength."""
    return os.environ.get("SCF_GAUNTLET", "").lower() == "full"


def strength(quick: T, full_strength: T) -> T:
    """``quick`` in ``make test``, ``full_strength`` in ``make gauntlet``."""
    return full_strength if full() else quick


def record(check: str, figures: dict[str, Any]) -> None:
    """Keeps one check's figures for the gauntlet's table, replacing that check's earlier ones.

    ``figures`` names what was measured, in the words of the table (``"lost": 0``, ``"calls": 10240``).
    """
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    kept = {"check": check, "strength": "full" if full() else "quick", "figures": figures}
    (FIGURES_DIR / f"{check}.json").write_text(json.dumps(kept, indent=2, default=str) + "\n")
