"""The same QR pattern planned for a GRBL rig and for a PI C-884 rig, dry-run through each
controller's emulator, predicts the same glass. Tolerance: the decoded payload is identical and
the crystallised area overlaps with IoU >= 0.95 (the two differ only by their motion profiles:
GRBL's look-ahead keeps speed through a scan line, the C-884 stops at every move, which at
0.4 mm/s changes the dose of a few um at mark ends)."""

import numpy as np
import pytest

from drivers.runner import JobRunner
from hardware_sim.device import forget_device, get_device
from hardware_sim.glass.simulate import simulate
from hardware_sim.glass.verify import QR_VIEW, decode_qr
from lasergen import MachineProfile
from tests.pi_gcs.helpers import device_name, qr_pattern, stream_once, write_job

PAYLOAD = "lasergen"


def predict(ledger, machine):
    return simulate(ledger, machine, "BrI", pitch_um=2.0)


def lit_on(prediction, xs, ys):
    rows, cols = prediction.grid.fractional_index(xs, ys)
    r, c = np.rint(rows).astype(int), np.rint(cols).astype(int)
    inside = (r >= 0) & (c >= 0) & (r < prediction.lit.shape[0]) & (c < prediction.lit.shape[1])
    out = np.zeros(xs.shape, bool)
    out[inside] = prediction.lit[r[inside], c[inside]]
    return out


@pytest.fixture
def names():
    made = [device_name(), device_name()]
    yield made
    for n in made:
        forget_device(n)
        forget_device(f"{n}:attenuator")


def test_grbl_and_pi_rigs_predict_the_same_glass(tmp_path, names):
    grbl_m, pi_m = MachineProfile.load("grbl-default"), MachineProfile.load("pi-c884")
    pattern = qr_pattern("raster", PAYLOAD)
    grbl_job = write_job(tmp_path, pattern, grbl_m, "qr.gcode")
    pi_job = write_job(tmp_path, pattern, pi_m, "qr.job")
    JobRunner(grbl_job, f"sim://?device={names[0]}", grbl_m).run()
    halt, _, _, done = stream_once(f"sim://?machine=pi-c884&device={names[1]}", pi_job)
    assert halt is None and done.all()
    predictions = [predict(get_device(n).ledger(), m) for n, m in zip(names, (grbl_m, pi_m))]
    for p in predictions:
        assert PAYLOAD in decode_qr(p.render(QR_VIEW, whole_mark=True).rgb)
    x0, y0, x1, y1 = predictions[0].ledger.bounds_mm()
    ys, xs = np.mgrid[y0 - 0.05:y1 + 0.05:0.002, x0 - 0.05:x1 + 0.05:0.002]
    a, b = (lit_on(p, xs, ys) for p in predictions)
    iou = (a & b).sum() / (a | b).sum()
    print(f"IoU {iou:.4f}")
    assert iou >= 0.95, iou
