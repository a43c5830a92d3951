"""Two processes claiming 10,000 serials each from the same range never issue one serial twice."""

import multiprocessing as mp

# a top-level module (conftest puts this folder on sys.path): a spawned child imports it by name,
# without the checkout on its path (the suite runs in importlib mode against the installed package)
from claim_worker import N, claimer


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
