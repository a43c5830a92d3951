"""The fit's recovery over noise seeds: the synthetic test of `tests/calib/test_fit.py` (its grid
design and its changed "true" BrI glass, 5 % noise) fitted once per seed; prints each determined
parameter's error (%) and its distance from the truth in standard uncertainties.

    python benchmarks/fit_seeds.py [--seeds 1 2 3 4 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware_sim.glass.fit import fit, material_with  # noqa: E402
from hardware_sim.glass.material import Material  # noqa: E402
from tests.calib.test_fit import CELLS, TRUTH, _noisy  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    prior = Material.load("BrI")
    true = material_with(prior, TRUTH)
    worst = 0.0
    for seed in args.seeds:
        t0 = time.perf_counter()
        result = fit(_noisy(CELLS, true, seed=seed), prior)
        parts = []
        for name, value in result.values.items():
            section, key = name.split(".")
            expected = TRUTH.get(name, getattr(prior, section)[key])
            error = 100.0 * (value / expected - 1.0)
            worst = max(worst, abs(error))
            parts.append(f"{name} {error:+.2f} % ({abs(value - expected) / result.sigma[name]:.1f} sigma)")
        print(f"seed {seed}: " + ", ".join(parts) + f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    print(f"{len(CELLS)} cells, {len(args.seeds)} seeds: largest error {worst:.2f} % (bound 5 %)")
    return 0 if worst <= 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
