"""Job files: G-code body plus a machine-readable header.

The header is a JSON manifest (format version, machine, material, recipes, layers, passes,
bounds, counts, estimated time, what the pattern promises for `verify`, SHA-256 of the body)
split over `;@m ` comment lines shorter than 80 characters, so even a sender that passes
comments to GRBL stays within its line buffer. The body alone is enough to run or simulate
the job; the checksum tells when the body was edited after planning.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lasergen import LasergenError, __version__
from lasergen.backends.grbl.gcode import ParsedProgram, emit_body, read_program
from lasergen.backends.grbl.motion import estimate
from lasergen.machine import MachineProfile
from lasergen.pattern import Pattern
from lasergen.toolpath import Toolpath

FORMAT = "lasergen-job"
FORMAT_VERSION = 1
MANIFEST_PREFIX = ";@m "
CHUNK = 72


@dataclass
class Job:
    program: ParsedProgram
    manifest: dict
    body: str

    @property
    def toolpath(self) -> Toolpath:
        return self.program.toolpath


def body_sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class BodyDigest:
    """Checksum and line count of a body seen chunk by chunk."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.lines = 0

    def update(self, chunk: bytes) -> bytes:
        self.sha.update(chunk)
        self.lines += chunk.count(b"\n")
        return chunk


def build_manifest(pattern: Pattern, path: Toolpath, machine: MachineProfile, body: BodyDigest,
                   material: str | None = None, extra: dict | None = None) -> dict:
    est = estimate(path, machine)
    layers = []
    for i, layer in enumerate(pattern.layers):
        recipe = pattern.recipes[layer.recipe]
        layers.append({"index": i, "name": layer.name, "recipe": layer.recipe, "mode": recipe.mode,
                       "pixels": int(layer.mask.sum()), "passes": int(recipe.passes)})
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "generator": f"lasergen {__version__}",
        "assumes": {"laser_mode": "$32=1", "units": "G21 mm", "s_per_uJ": machine.s_per_uJ,
                    "s_max": machine.s_max, "rep_rate_kHz": machine.rep_rate_kHz},
        "machine": machine.to_manifest(),
        "material": material,
        "grid": {"pitch_um": pattern.pitch_um, "origin_mm": list(pattern.origin_mm), "shape": list(pattern.shape)},
        "recipes": {name: r.to_dict() for name, r in pattern.recipes.items()
                    if any(layer.recipe == name for layer in pattern.layers)},
        "layers": layers,
        "bounds_mm": list(path.bounds_mm()),
        "mark_bounds_mm": est["bounds_mm"],
        "counts": {"body_lines": body.lines, "marks": est["mark_count"], "dots": est["dot_count"],
                   "line_marks": est["line_count"], "passes": est["passes"]},
        "estimate": {k: round(v, 3) for k, v in est.items() if isinstance(v, float)},
        "promises": pattern.meta,
        **(extra or {}),
        "body_sha256": body.sha.hexdigest(),
    }


def _pass_info(pattern: Pattern, path: Toolpath) -> dict[int, dict]:
    info = {}
    for layer_index, layer in enumerate(pattern.layers):
        recipe = pattern.recipes[layer.recipe]
        for pid in np.unique(path.pass_id[path.layer == layer_index]).tolist():
            info[pid] = {"name": layer.name or f"layer{layer_index}", "recipe": layer.recipe, "mode": recipe.mode}
    return info


def header_text(manifest: dict) -> str:
    text = json.dumps(manifest, separators=(",", ":"), sort_keys=True)
    header = [f";@lasergen {FORMAT} v{FORMAT_VERSION}"]
    header += [MANIFEST_PREFIX + text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]
    return "\n".join(header) + "\n"


PRIVATE_MODE = 0o600  # a keyed tag's job holds its hidden-module set: owner-only, like a key file


def holds_secret(pattern: Pattern) -> bool:
    """A keyed hidden layer is in the job (its rewrite layer reveals which modules the key chose)."""
    return "hidden" in pattern.meta


def open_job_file(out: str | Path, private: bool):
    """A job file opened for writing; a private one is created 0600 (and made so if it existed)."""
    if not private:
        return open(out, "wb")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    os.fchmod(fd, PRIVATE_MODE)
    return os.fdopen(fd, "wb")


def render_job(pattern: Pattern, path: Toolpath, machine: MachineProfile, material: str | None = None,
               extra: dict | None = None) -> str:
    """The job file as text (for small jobs and tests; `write_job` streams)."""
    digest = BodyDigest()
    body = b"".join(digest.update(c) for c in emit_body(path, machine, _pass_info(pattern, path)))
    manifest = build_manifest(pattern, path, machine, digest, material, extra)
    return header_text(manifest) + body.decode()


def write_job(out: str | Path, pattern: Pattern, path: Toolpath, machine: MachineProfile,
              material: str | None = None, extra: dict | None = None) -> dict:
    """Write the job without holding its body in memory: body to a temporary file first (its
    checksum goes in the header), then header + body into place."""
    out = Path(out)
    digest = BodyDigest()
    with tempfile.TemporaryFile(dir=out.parent if out.parent.is_dir() else None) as body:
        for chunk in emit_body(path, machine, _pass_info(pattern, path)):
            body.write(digest.update(chunk))
        manifest = build_manifest(pattern, path, machine, digest, material, extra)
        body.seek(0)
        with open_job_file(out, holds_secret(pattern)) as f:
            f.write(header_text(manifest).encode())
            shutil.copyfileobj(body, f, 1 << 22)
    return manifest


def parse_header(lines: list[str]) -> tuple[dict | None, int]:
    """(manifest or None, index of the first body line)."""
    if not lines or not lines[0].startswith(";@lasergen "):
        return None, 0
    chunks, i = [], 1
    while i < len(lines) and lines[i].startswith(MANIFEST_PREFIX):
        chunks.append(lines[i][len(MANIFEST_PREFIX):])
        i += 1
    try:
        manifest = json.loads("".join(chunks))
    except json.JSONDecodeError as exc:
        raise LasergenError(f"job header is not valid JSON: {exc}") from None
    except RecursionError:
        raise LasergenError("job header is nested too deeply to be a manifest") from None
    if not isinstance(manifest, dict):
        raise LasergenError(f"job header holds a JSON {type(manifest).__name__}, not a manifest object")
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise LasergenError(f"job format {manifest.get('format')} v{manifest.get('version')} is not supported")
    return manifest, i


def read_job(source: str | Path, machine: MachineProfile | None = None, check_sum: bool = True) -> Job:
    """Read a job file (or G-code text); any G-code GRBL accepts is a job, a manifest is optional."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        try:
            text = Path(source).read_text()
        except FileNotFoundError:
            raise LasergenError(f"job file not found: {source}") from None
        except (UnicodeDecodeError, IsADirectoryError) as exc:
            raise LasergenError(f"cannot read job file {source}: {exc}") from None
    else:
        text = source
    lines = text.splitlines()
    manifest, first = parse_header(lines)
    body = "\n".join(lines[first:]) + "\n"
    if manifest and check_sum and manifest.get("body_sha256") != body_sha256(body):
        raise LasergenError("job body does not match its manifest checksum: the file was edited after planning "
                            "(re-plan it, or pass --no-checksum)")
    program = read_program(lines, machine or MachineProfile.load())
    return Job(program, manifest or {}, body)
