"""The fault campaign's record of a run and its tables: what one run came to (`RunOutcome`),
the results file its runs are appended to (one JSON object a line), and the Markdown tables
the README's reliability section shows (per first fault and back-end, and time to beam-off
per fault kind). `fault_campaign.py` runs the campaign; this module only reports it.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from campaign_check import REST_DEFECT_S

DEVICE_FAULTS = ["drop", "error", "alarm", "alarm_mid", "corrupt", "stall", "power", "reset"]
SENDER_FAULTS = ["sigkill", "sigint"]
KINDS = DEVICE_FAULTS[:6] + SENDER_FAULTS + DEVICE_FAULTS[6:]
LABELS = {"drop": "link drop", "error": "`error:N`", "alarm": "`ALARM:N`", "alarm_mid": "`ALARM:N` inside a line",
          "corrupt": "corrupt reply",
          "stall": "controller stall", "sigkill": "sender SIGKILL", "sigint": "sender SIGINT",
          "power": "controller power reset", "reset": "controller soft reset"}

@dataclass
class RunOutcome:
    run: int
    job: str
    faults: list
    machine: str = "grbl-default"
    twice: int = 0
    skipped_not_listed: int = 0
    listed: int = 0
    stray: int = 0  # gaps written (beam-on line rows on no mark)
    stray_rest_ms: float = 0.0  # longest beam-on rest on no dot >= REST_DEFECT_S (a defect), sender's ms
    minor_rest_ms: float = 0.0  # longest such rest shorter than REST_DEFECT_S (reported, not a defect)
    stall_rest_ms: float = 0.0  # longest beam-on rest during a controller stall (the documented residual)
    hangs: int = 0
    false_stalls: int = 0  # sessions the sender stopped as a stall in which no stall was injected
    unclean: int = 0
    complete: bool = False
    sessions: int = 0
    beam_off_s: list = field(default_factory=list)  # (fault kind, seconds)
    notes: list = field(default_factory=list)



def table(outcomes: list[RunOutcome]) -> str:
    rows = defaultdict(list)
    for o in outcomes:
        rows[o.faults[0]].append(o)
    lines = ["| first fault | runs | runs with a mark exposed twice | runs with a skipped mark not listed | "
             "hung sessions | runs with a gap written | unclean exits | runs never completed | "
             "time to beam off, median / max (s) | runs with the beam resting on "
             f">= {1000 * REST_DEFECT_S:g} ms (max ms) | shorter rests, max (ms) | "
             "beam resting on in a stall, max (ms) | stalls called with none injected |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def line(label, group):
        offs = [s for o in group for _, s in o.beam_off_s]
        return (f"| {label} | {len(group)} | {sum(o.twice > 0 for o in group)} | "
                f"{sum(o.skipped_not_listed > 0 for o in group)} | {sum(o.hangs for o in group)} | "
                f"{sum(o.stray > 0 for o in group)} | {sum(o.unclean for o in group)} | "
                f"{sum(not o.complete for o in group)} | "
                f"{np.median(offs) if offs else 0.0:.3f} / {max(offs, default=0.0):.3f} | "
                f"{sum(o.stray_rest_ms > 0 for o in group)} ({max((o.stray_rest_ms for o in group), default=0.0):.1f}) | "
                f"{max((o.minor_rest_ms for o in group), default=0.0):.2f} | "
                f"{max((o.stall_rest_ms for o in group), default=0.0):.0f} | "
                f"{sum(o.false_stalls for o in group)} |")
    for kind in KINDS:
        if rows.get(kind):
            lines.append(line(LABELS[kind], rows[kind]))
    lines.append(line("**all**", outcomes).replace("| all |", "| **all** |"))
    return "\n".join(lines)


def tables(outcomes: list[RunOutcome]) -> str:
    """One table per back-end (by machine profile), then all runs if there are several."""
    by = defaultdict(list)
    for o in outcomes:
        by[o.machine].append(o)
    parts = [f"**{name}** ({len(group)} runs)\n\n{table(group)}" for name, group in by.items()]
    if len(by) > 1:
        parts.append(f"**all back-ends** ({len(outcomes)} runs)\n\n{table(outcomes)}")
    return "\n\n".join(parts)


def beam_off_table(outcomes: list[RunOutcome]) -> str:
    by = defaultdict(list)
    for o in outcomes:
        for kind, s in o.beam_off_s:
            by[kind].append(s)
    lines = ["| fault | faults seen | median time to beam off (s) | 99th percentile (s) | max (s) |", "|---|---|---|---|---|"]
    for kind, values in sorted(by.items()):
        v = np.asarray(values)
        lines.append(f"| {kind} | {v.size} | {np.median(v):.3f} | {np.percentile(v, 99):.3f} | {v.max():.3f} |")
    return "\n".join(lines)



def load_results(path: Path) -> list[RunOutcome]:
    """Outcomes appended to a --results file (one JSON object a line; a torn last line ignored).
    A run recorded twice (the same machine and run number, e.g. a profile named by an alias in
    one call and by its own name in another) counts once: its latest outcome."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                o = RunOutcome(**json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue
            out[(o.machine, o.run)] = o
    return list(out.values())


def report(outcomes: list[RunOutcome], seed: int, speed: float, machines: str, sender: str, jobs: list[str]) -> str:
    """The campaign's figures as Markdown: what was run (seed, runs, clock, date), then the tables."""
    counts = defaultdict(int)
    for o in outcomes:
        counts[o.machine] += 1
    split = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    return (f"{len(outcomes)} runs ({split}), seed {seed}, machine {machines}, emulator clock x{speed:g}, jobs "
            f"{', '.join(jobs)}, sender {sender}, {time.strftime('%Y-%m-%d')}\n\n{tables(outcomes)}\n\n"
            f"{beam_off_table(outcomes)}\n")


