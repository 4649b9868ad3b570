"""A small run of the benchmark (the full one is `benchmarks/bench.py`, not part of the tests)."""
import sys

from . import lab


def test_benchmark_smoke_run_prints_its_table(real_lab):
    result = lab.sh(sys.executable, str(lab.REPO / "benchmarks" / "bench.py"), "--smoke", timeout=600)
    out = result.stdout
    assert out.startswith("Machine: ") and "| figure | measured | baseline / goal |" in out
    for row in ("| warm deploy, 3 deckies x 2 services |", "| dry run, 100 deckies |", "| status, 3 deckies |",
                "| teardown --decky in 3 |"):
        assert row in out, out
    status_row = next(ln for ln in out.splitlines() if ln.startswith("| status, 3 deckies |"))
    assert "API calls" in status_row
