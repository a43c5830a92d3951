"""The claiming side of test_claim_concurrency, in a module a spawned process can import by name."""

import time

from lasergen.registry import open_registry

N = 10_000


def claimer(target, order, chunk, queue, barrier):
    with open_registry(target) as reg:
        batch = reg.begin_batch(f"station-{order}", "SN-%06d", 0, N, "pack", "/t", {})
        barrier.wait(timeout=120)  # both claim at the same time, from opposite ends of the range
        names = [f"SN-{i:06d}" for i in range(N)]
        if order == "down":
            names.reverse()
        mine = set()
        for i in range(0, N, chunk):
            mine |= reg.claim(batch, [(s, "00" * 32, 1.0, 0, 1) for s in names[i:i + chunk]])
            time.sleep(0.01)  # a batch plans between claims; SQLite's busy wait then lets the other in
    queue.put(sorted(mine))
