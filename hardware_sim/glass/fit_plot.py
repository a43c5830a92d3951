"""Lab-notebook plots of a material fit and of a process window (matplotlib, imported lazily:
only `--plot` needs it). Matplotlib rather than PIL drawing: axes with ticks and units, legends,
error bars and colour maps with colour bars are what a scientist expects, and hand-drawing them
would be a second plotting library to maintain."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lasergen import LasergenError


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - a declared dependency
        raise LasergenError("--plot needs matplotlib (pip install matplotlib)") from None
    return plt


def _save(fig, path) -> None:
    try:
        fig.savefig(path, dpi=150)
    except (OSError, ValueError) as exc:
        raise LasergenError(f"cannot write plot {path}: {exc}") from None


def fit_plot(result, path: str | Path, title: str) -> None:
    """Measured vs predicted per cell: sizes (um) and relative glow, prior and fitted, 1:1 line."""
    plt = _pyplot()
    obs = result.observations
    lit = obs.present
    fig, (ax_size, ax_glow) = plt.subplots(1, 2, figsize=(11, 5.2))
    for mode, marker in (("dots", "o"), ("lines", "s")):
        sel = lit & np.array([c.mode == mode for c in obs.cells])
        if not sel.any():
            continue
        err = result.noise["size"] * obs.size_um[sel]
        ax_size.errorbar(obs.size_um[sel], result.predicted[sel, 0], xerr=err, fmt=marker, ms=5, capsize=2,
                         label=f"{mode}: fitted", color="C0" if mode == "dots" else "C1")
        ax_size.plot(obs.size_um[sel], result.predicted_prior[sel, 0], marker, mfc="none", ms=6,
                     color="0.5", label=f"{mode}: prior ({result.prior.name})")
    top = max(float(obs.size_um.max()), float(result.predicted[:, 0].max()), 1.0) * 1.08
    for ax, label in ((ax_size, "size"),):
        ax.plot([0, top], [0, top], "k--", lw=1, label="measured = predicted")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
    ax_size.set_xlabel("measured size (dot diameter or line width), um")
    ax_size.set_ylabel("predicted size, um")
    ax_size.set_title(f"feature size: rms error {result.rms_size_um:.2f} um over {int(lit.sum())} lit cells")
    ax_size.legend(fontsize=8, loc="upper left")
    for k, (column, colour, name) in enumerate(((obs.green_rel, "tab:green", "green"), (obs.red_rel, "tab:red", "red"))):
        sel = lit & (column > 0)
        ax_glow.plot(column[sel], result.predicted[sel, 1 + k], "o", color=colour, ms=5, label=f"{name}: fitted")
        ax_glow.plot(column[sel], result.predicted_prior[sel, 1 + k], "o", mfc="none", color=colour, alpha=0.5, ms=6,
                     label=f"{name}: prior")
    peak = max(float(np.max([obs.green_rel.max(), obs.red_rel.max(), result.predicted[:, 1:].max()])), 0.1) * 1.1
    ax_glow.plot([0, peak], [0, peak], "k--", lw=1, label="measured = predicted")
    ax_glow.set_xlim(0, peak)
    ax_glow.set_ylim(0, peak)
    ax_glow.set_xlabel("measured glow / fiducials' glow (1 = fully crystallized)")
    ax_glow.set_ylabel("predicted glow / fiducials' glow")
    ax_glow.set_title("green and red glow of each cell")
    ax_glow.legend(fontsize=8, loc="upper left")
    text = "\n".join(f"{n.split('.')[1]} = {v:.4g} +- {result.sigma[n]:.2g}" for n, v in result.values.items())
    ax_size.text(0.98, 0.03, text or "nothing determined", transform=ax_size.transAxes, ha="right", va="bottom",
                 fontsize=8, bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def window_plot(window, path: str | Path, title: str) -> None:
    """Predicted size over energy x speed (or dwell), the target's +-10 % band and the recipe chosen."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    x, y, size = window.energies_uJ, window.exposures, window.size_um
    mesh = ax.pcolormesh(x, y, size.T, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=f"predicted {window.size_name}, um (0: dark)")
    lo, hi = window.target_um * 0.9, window.target_um * 1.1
    ax.contourf(x, y, ((size >= lo) & (size <= hi) & window.colour_ok).T.astype(float), levels=[0.5, 1.5],
                colors="none", hatches=["///"])
    ax.contour(x, y, size.T, levels=[lo, hi], colors="white", linewidths=1.2)
    ax.plot([], [], color="white", lw=1.2, label=f"{window.size_name} {window.target_um:g} um +-10 %")
    ax.fill_between([], [], hatch="///", facecolor="none", label=f"within +-10 % and {window.colour}")
    if window.recipe:
        ax.plot(window.recipe["energy_uJ"], window.recipe[window.exposure_key], "r*", ms=16, mec="k",
                label="chosen recipe")
    ax.set_xlabel("pulse energy, uJ")
    ax.set_ylabel(window.exposure_label)
    if window.exposure_key == "speed_mm_s":
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right", facecolor="0.9")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
