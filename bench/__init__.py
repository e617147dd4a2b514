"""Benchmarks: each prints its figures and writes them, with the date, the commit and the
machine, into docs/performance.md (``bench.report``). Run them from the repository root as
modules, ``python -m bench.NAME``; ``make bench`` runs them all."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
