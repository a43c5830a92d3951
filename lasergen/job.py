"""Job files: a body in the controller's own language plus a machine-readable header.

The container is the same for every controller family. Its first line, `;@lasergen lasergen-job
v1 [LANGUAGE]`, names the body's language (none: GRBL G-code, so G-code jobs are unchanged); the
header is a JSON manifest (format version, machine, material, recipes, layers, passes, bounds,
counts, estimated time, what the pattern promises for `verify`, the depths written and the focus
model that turned them into Z (`depth_planes`), SHA-256 of the body) split over
`;@m ` lines shorter than 80 characters. `;` starts a comment in G-code and is never sent to a
PI controller (lasergen's GCS job body keeps `;` lines for the host), so the header never
reaches a controller either way. The body alone is enough to run or simulate the job; the
checksum tells when the body was edited after planning.

Emitting, reading back and estimating go through the machine profile's controller
(`lasergen.backends.language_for`); this module knows no controller.
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
from lasergen.backends import BACKENDS, backend, language_for
from lasergen.machine import MachineProfile, builtin_names
from lasergen.pattern import Pattern
from lasergen.program import ParsedProgram
from lasergen.toolpath import DWELL, Toolpath

FORMAT = "lasergen-job"
FORMAT_VERSION = 1
MANIFEST_PREFIX = ";@m "
CHUNK = 72


@dataclass
class Job:
    program: ParsedProgram
    manifest: dict
    body: str
    machine: MachineProfile | None = None  # the profile the body was read for

    @property
    def toolpath(self) -> Toolpath:
        return self.program.toolpath

    @property
    def controller(self) -> str:
        return self.machine.controller if self.machine else "grbl"


def body_sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class BodyDigest:
    """Checksum and line count of a body seen chunk by chunk."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.lines = 0

    def update(self, chunk: bytes) -> bytes:
        self.sha.update(chunk)
        # numpy's vectorised compare counts newlines ~3x faster than bytes.count
        self.lines += int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == 10))
        return chunk


def depth_planes(pattern: Pattern, path: Toolpath, machine: MachineProfile) -> dict:
    """What a job in depth records: `depths_um`, the written depths in writing order (deepest
    first), and per plane its layers, passes and the stage Z range of its marks (a tilted
    sample's Z varies over the plane), with the focus model that maps depth to Z. Nothing for
    a flat job."""
    if not pattern.depths_um:
        return {}
    from lasergen.focus import focus_of

    planes = []
    for depth in pattern.depths_um:
        layers = [i for i, layer in enumerate(pattern.layers) if layer.depth_um == depth]
        rows = np.isin(path.layer, layers) & path.is_mark
        z = np.concatenate([path.z0[rows], path.z1[rows]]) if rows.any() else np.zeros(1, np.float32)
        planes.append({"depth_um": depth, "layers": layers,
                       "passes": sorted({int(p) for p in np.unique(path.pass_id[np.isin(path.layer, layers)])}),
                       "z_mm": [round(float(z.min()), 5), round(float(z.max()), 5)]})
    return {"depths_um": pattern.depths_um, "depth_order": "deepest first", "planes": planes,
            "focus": focus_of(machine).manifest()}


def build_manifest(pattern: Pattern, path: Toolpath, machine: MachineProfile, body: BodyDigest,
                   material: str | None = None, extra: dict | None = None) -> dict:
    lang = language_for(machine)
    est = lang.estimate(path, machine)
    layers = []
    for i, layer in enumerate(pattern.layers):
        recipe = pattern.recipes[layer.recipe]
        layers.append({"index": i, "name": layer.name, "recipe": layer.recipe,
                       "mode": "vector" if layer.is_vector else recipe.mode, **layer.summary(),
                       "passes": int(recipe.passes)})
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "generator": f"lasergen {__version__}",
        "assumes": lang.manifest_assumes(machine),
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
        **depth_planes(pattern, path, machine),
        **(extra or {}),
        "body_sha256": body.sha.hexdigest(),
    }


def _pass_info(pattern: Pattern, path: Toolpath) -> dict[int, dict]:
    """Name, recipe and mode of each pass (a pass is one run of rows of one layer)."""
    info = {}
    bounds = np.flatnonzero(np.r_[True, path.pass_id[1:] != path.pass_id[:-1], True]) if len(path) else [0]
    for a, b in zip(bounds[:-1], bounds[1:]):
        pid, layer_index = int(path.pass_id[a]), int(path.layer[a])
        layer = pattern.layers[layer_index]
        recipe = pattern.recipes[layer.recipe]
        mode = ("dots" if (path.kind[a:b] == DWELL).any() else "vector") if layer.is_vector \
            else recipe.mode  # a vector layer's line work and its dots are separate passes
        info[pid] = {"name": layer.name or f"layer{layer_index}", "recipe": layer.recipe, "mode": mode,
                     "depth_um": layer.depth_um}
    return info


def first_line(language_tag: str = "") -> str:
    return f";@lasergen {FORMAT} v{FORMAT_VERSION}" + (f" {language_tag}" if language_tag else "")


def header_text(manifest: dict, language_tag: str = "") -> str:
    text = json.dumps(manifest, separators=(",", ":"), sort_keys=True)
    header = [first_line(language_tag)]
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
    lang = language_for(machine)
    digest = BodyDigest()
    body = b"".join(digest.update(c) for c in lang.emit_body(path, machine, _pass_info(pattern, path)))
    manifest = build_manifest(pattern, path, machine, digest, material, extra)
    return header_text(manifest, lang.JOB_TAG) + body.decode()


def write_job(out: str | Path, pattern: Pattern, path: Toolpath, machine: MachineProfile,
              material: str | None = None, extra: dict | None = None) -> dict:
    """Write the job without holding its body in memory: body to a temporary file first (its
    checksum goes in the header), then header + body into place."""
    out = Path(out)
    lang = language_for(machine)
    digest = BodyDigest()
    with tempfile.TemporaryFile(dir=out.parent if out.parent.is_dir() else None) as body:
        for chunk in lang.emit_body(path, machine, _pass_info(pattern, path)):
            body.write(digest.update(chunk))
        manifest = build_manifest(pattern, path, machine, digest, material, extra)
        body.seek(0)
        with open_job_file(out, holds_secret(pattern)) as f:
            f.write(header_text(manifest, lang.JOB_TAG).encode())
            f.flush()
            _copy_file(body, f)
    return manifest


def _copy_file(src, dst) -> None:
    """src's remaining bytes appended to dst: in the kernel (sendfile) where it can, else by reads."""
    offset = src.tell()
    try:
        size = os.fstat(src.fileno()).st_size
        while offset < size:
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except (AttributeError, OSError):
        pass
    src.seek(offset)
    shutil.copyfileobj(src, dst, 1 << 22)


def job_language(first: str) -> str:
    """The controller family a job's first line names (G-code when it names none)."""
    parts = first.split()
    tag = parts[3] if len(parts) > 3 and first.startswith(";@lasergen ") else ""
    for family, b in BACKENDS.items():
        if b.lang.JOB_TAG == tag:
            return family
    raise LasergenError(f"job is written in an unknown controller language {tag!r} (known: {', '.join(BACKENDS)})")


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


def machine_for(family: str, manifest: dict | None, machine: MachineProfile | str | None) -> MachineProfile:
    """The profile to read a job with: the one given (it must be of the job's controller), else
    the built-in profile the manifest names, else the controller's default profile."""
    if isinstance(machine, str):
        machine = MachineProfile.load(machine)
    if machine is None:
        named = ((manifest or {}).get("machine") or {}).get("name")
        machine = MachineProfile.load(named if named in builtin_names() else backend(family).lang.DEFAULT_PROFILE)
    if machine.controller != family:
        raise LasergenError(f"the job is written for a {backend(family).title} controller but machine "
                            f"{machine.name!r} is {backend(machine.controller).title}: pass a {family} profile")
    return machine


def _open_job_file(source: str | Path):
    try:
        return open(source, "rb")
    except FileNotFoundError:
        raise LasergenError(f"job file not found: {source}") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise LasergenError(f"cannot read job file {source}: {exc}") from None


def _read_header(f, machine: MachineProfile | str | None):
    """(manifest or None, index of the first body line, profile to read with) of a job file
    opened in binary, left at the first body byte."""
    header, offset = [], 0
    for raw in f:  # the header: the first line and the manifest lines after it
        line = raw.decode(errors="replace").rstrip("\r\n")
        if header and not line.startswith(MANIFEST_PREFIX) or not header and not line.startswith(";@lasergen "):
            break
        header.append(line)
        offset += len(raw)
    manifest, first = parse_header(header)
    family = job_language(header[0]) if header else "grbl"
    f.seek(offset)
    return manifest, first, machine_for(family, manifest, machine)


def estimate_job_file(source: str | Path, machine: MachineProfile | str | None = None,
                      check_sum: bool = True) -> tuple[dict, MachineProfile]:
    """(estimate, profile used) of a job file: the figures of `read_job` + the language's
    `estimate`, read in pieces by a language that offers `estimate_body(file, machine,
    first_line)` (GRBL: bounded memory whatever the file's size), else through `read_job`."""
    with _open_job_file(source) as f:
        manifest, first, machine = _read_header(f, machine)
        lang = language_for(machine)
        if not hasattr(lang, "estimate_body"):
            job = read_job(Path(source), machine, check_sum)
            return lang.estimate(job.toolpath, machine), machine
        est, sha, _ = lang.estimate_body(f, machine, first)
    if manifest and check_sum and manifest.get("body_sha256") != sha:
        raise LasergenError("job body does not match its manifest checksum: the file was edited after planning "
                            "(re-plan it, or pass --no-checksum)")
    return est, machine


def read_toolpath(source: str | Path, machine: MachineProfile | str | None = None,
                  pieces: bool = False) -> tuple[Toolpath | list[Toolpath], MachineProfile]:
    """(toolpath, profile used) of a job file, checksum not checked: the rows of `read_job`,
    read in pieces by a language that offers `toolpath_body(file, machine, first_line)` (GRBL:
    no text of the whole body held), else through `read_job`; `pieces`: the list of pieces
    as read, not concatenated (a caller that goes through them in order needs no copy)."""
    with _open_job_file(source) as f:
        _, first, machine = _read_header(f, machine)
        lang = language_for(machine)
        if hasattr(lang, "toolpath_body"):
            parts = lang.toolpath_body(f, machine, first)
        else:
            parts = [read_job(Path(source), machine, check_sum=False).toolpath]
    return (parts if pieces else Toolpath.concat(parts)), machine


def read_job(source: str | Path, machine: MachineProfile | str | None = None, check_sum: bool = True) -> Job:
    """Read a job file (or its text); any G-code GRBL accepts is a job, a manifest is optional.
    The body's language comes from the file; `machine` None means the job's own profile."""
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
    family = job_language(lines[0]) if lines else "grbl"
    machine = machine_for(family, manifest, machine)
    body = "\n".join(lines[first:]) + "\n"
    if manifest and check_sum and manifest.get("body_sha256") != body_sha256(body):
        raise LasergenError("job body does not match its manifest checksum: the file was edited after planning "
                            "(re-plan it, or pass --no-checksum)")
    program = language_for(machine).read_body(lines, machine)
    return Job(program, manifest or {}, body, machine)
