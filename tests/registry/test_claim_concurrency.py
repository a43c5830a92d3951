"""Two processes claiming 10,000 serials each from the same range never issue one serial twice."""

import multiprocessing as mp
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


def test_two_processes_claiming_the_same_range_never_collide(reg, target):
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=claimer, args=(target, order, chunk, queue, barrier))
             for order, chunk in (("up", 250), ("down", 170))]
    for p in procs:
        p.start()
    results = [set(queue.get(timeout=240)) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    a, b = results
    assert not a & b
    assert len(a | b) == N and a and b
    assert reg.counts() == {"planned": N}
    per_batch = {row["batch_id"] for row in reg.export()}
    assert len(per_batch) == 2
