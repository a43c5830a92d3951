"""The work one executor task does: plan a chunk of tags into job bytes.

A task gets a `PlanSpec` (tag options, the machine profile itself, material, hidden key,
pack dictionary) and (serial, payload) pairs: payloads are signed in the batch's own process
before submission, so the Ed25519 private key never reaches a worker (a Dask worker may be
another computer). The hidden-layer key does travel with the task, since the keyed modules
depend on the symbol the worker encodes. Per tag: encode (vectorised mask search), plan,
emit, hash, and for a pack compress the record. Only compact results travel back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lasergen.batch import pack
from lasergen.job import parse_header, render_job
from lasergen.machine import MachineProfile
from lasergen.planner import plan
from lasergen.security.tag import TagOptions, tag_pattern

HEADER_LINES_MAX = 400  # a tag manifest is ~50 header lines


@dataclass(frozen=True)
class PlanSpec:
    options: TagOptions
    machine: MachineProfile
    material: str
    hidden_key: bytes | None
    signed: bool
    layout: str
    dictionary: bytes = b""


def render_tag(spec: PlanSpec, serial: str, payload: str) -> bytes:
    pattern = tag_pattern(serial, spec.options, None, spec.hidden_key, material=spec.material,
                          signed_payload=payload if spec.signed else None)
    return render_job(pattern, plan(pattern, spec.machine), spec.machine, spec.material).encode()


def plan_chunk(spec: PlanSpec, items: list[tuple[str, str]]) -> list[tuple]:
    """(serial, payload) pairs -> (serial, job sha256, payload, estimated_time_s, pack record or job bytes)."""
    out = []
    for serial, payload in items:
        job = render_tag(spec, serial, payload)
        manifest, _ = parse_header(job[:1 << 16].decode(errors="replace").split("\n", HEADER_LINES_MAX))
        blob = pack.encode_record(serial, job, spec.dictionary) if spec.layout == "pack" else job
        out.append((serial, hashlib.sha256(job).hexdigest(), payload, manifest["estimate"]["time_s"], blob))
    return out
