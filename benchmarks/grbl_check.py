"""Check lasergen's G-code and time estimates against real GRBL 1.1 firmware code.

usage: python benchmarks/grbl_check.py HARNESS [--out DIR] [--baud 115200] [--keep-comments]

HARNESS is a native build of GRBL 1.1's own C sources (protocol, gcode, planner, stepper
ISR ...) with stubbed AVR registers and a virtual clock. It is not part of lasergen (GRBL is
GPL); build it locally, see HOWTO below. Its interface:
    harness [-q] [-b BAUD] [-s N=V ...] FILE
prints "REJECT line=<n> error:<code> | <text>" per rejected line and one final line
    RESULT lines=.. rejected=.. max_len=.. time_s=.. dwell_s=.. idle_lock_s=.. isr=.. aborted=..
The script generates the reference jobs with the lasergen CLI, strips `;` lines as a sender
does (and also feeds the raw files, comments included), and prints job, lines, GRBL time,
lasergen's estimate and the relative error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HOWTO = """\
Build the harness (outside this repository; GRBL is GPL):
  1. get gnea/grbl (v1.1h) and grbl/grbl-sim; put grbl-sim inside grbl's source folder
     (grbl/grbl/grbl-sim), as grbl-sim's README describes. Only its avr/ and util/ stub
     headers and config.h are used.
  2. write a driver C file in grbl-sim/ (it includes "../grbl.h") that provides:
     - the globals grbl's main.c defines (sys, sys_position, sys_probe_position, the
       sys_rt_exec_* flags) and the register block the stub avr/io.h declares (`io`);
     - sei()/cli() doing nothing, pgm_read_byte_near() reading the byte, an in-memory
       EEPROM (eeprom_get_char/put_char and the two memcpy_*_eeprom_with_checksum calls,
       with grbl's rotate-and-add checksum), and the serial calls of serial.h: serial_read()
       returns the file's bytes, then SERIAL_NO_DATA (0xff); serial_write() collects GRBL's
       answers line by line: the n-th "ok"/"error:N" answers the n-th input line;
     - _delay_ms()/_delay_us() advancing a virtual clock (a 50 ms step is a dwell,
       DWELL_TIME_STEP; 1 ms steps are the stepper idle lock, $1);
     - wrappers: st_prep_buffer() calls grbl_st_prep_buffer(), then, while GRBL is
       waiting (planner full: plan_check_full_buffer(), inside protocol_buffer_synchronize(),
       or the file read to its end), calls the TIMER1_COMPA ISR once when TIMSK1 has OCIE1A
       set, advancing the clock by OCR1A x prescaler (TCCR1B & 7: 1, 8, 64, 256, 1024) / F_CPU
       as they were before the call; protocol_buffer_synchronize() sets a 'syncing' flag
       around grbl_protocol_buffer_synchronize();
     - main(): serial_init, settings_init, stepper_init, system_init, state IDLE, then
       every -s N=V through system_execute_line("$N=V"), then the per-reset set-up of grbl's
       main.c (sys cleared with overrides at 100 %, gc_init ... gc_sync_position) and
       protocol_main_loop(). Drop GRBL's output until then: with an empty EEPROM,
       settings_init prints error:7 and a settings dump, which are not answers to the file.
     - the end: when the file is read, no planner block is left, the state is IDLE and every
       line has its answer (or on an ALARM), print the RESULT line and exit.
  3. compile every grbl .c except main.c/serial.c/eeprom.c from grbl-sim/ with
       gcc -O2 -fcommon -DF_CPU=16000000 -include config.h -I. -DPLAT_LINUX
     adding -Dst_prep_buffer=grbl_st_prep_buffer for stepper.c,
     -Dprotocol_buffer_synchronize=grbl_protocol_buffer_synchronize for protocol.c and
     -fsingle-precision-constant for nuts_bolts.c (AVR float parsing), plus the driver;
     link with -lm. A check: "G0X1Y0 / G1X2F60S100 / M3 / G1X3S100 / G4P0.5 / M5" with
     $32=1 $110=6000 $120=500 answers ok to every line and takes about 2.85 s.
"""

JOBS = {
    "qr": ["qr", "https://example.org/p/0001"],
    "ef": ["pattern", "patterns/three_level_EF.toml"],
    "dots": ["qr", "HELLO", "--mode", "dots", "--dwell-s", "1.0"],
    "dots_0.12s": ["qr", "HELLO", "--mode", "dots", "--dwell-s", "0.12"],
    "bitmap_fs": ["bitmap", "{grad}", "--pixel-um", "20", "--dither", "floyd-steinberg"],
    # the fastest speeds GRBL's 15-block look-ahead holds over these patterns' shortest runs
    # (the planner refuses 20 mm/s on them: marks would be written slower than programmed)
    "bitmap_fs_10mm_s": ["bitmap", "{grad}", "--pixel-um", "20", "--dither", "floyd-steinberg", "--speed-mm-s", "10"],
    "qr_12mm_s": ["qr", "https://example.org/p/0001", "--speed-mm-s", "12"],
}


def grbl_settings_args() -> list[str]:
    from lasergen.machine import MachineProfile

    settings = MachineProfile.load().grbl_settings()
    # soft limits/homing are left off: the harness starts unlocked at machine 0,0
    skip = {20, 22}
    out = []
    for key, value in sorted(settings.items()):
        if key not in skip:
            out += ["-s", f"{key}={value:g}"]
    return out


def run_harness(harness: Path, job: Path, extra: list[str]) -> dict:
    proc = subprocess.run([str(harness), *extra, str(job)], capture_output=True, text=True)
    rejects = [line for line in proc.stdout.splitlines() if line.startswith("REJECT")]
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    if not result:
        raise SystemExit(f"harness gave no RESULT for {job}:\n{proc.stdout}\n{proc.stderr}")
    fields = dict(item.split("=", 1) for item in result[-1].split()[1:])
    return {"fields": fields, "rejects": rejects}


def gradient_png(path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.tile(np.linspace(0, 255, 64), (48, 1)).astype(np.uint8)).save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("harness", nargs="?")
    ap.add_argument("--out", default=None, help="folder for the generated jobs (default: a temp dir)")
    ap.add_argument("--baud", type=float, default=0.0, help="also model a character-counting sender at this baud")
    args = ap.parse_args()
    if not args.harness or not Path(args.harness).is_file():
        print(f"harness binary {args.harness!r} not found.\n\n{HOWTO}", file=sys.stderr)
        return 2
    harness = Path(args.harness).resolve()
    import lasergen

    repo = Path(lasergen.__file__).resolve().parent.parent  # the checkout (patterns/ lives there)
    out = Path(args.out or tempfile.mkdtemp(prefix="grbl_check_"))
    out.mkdir(parents=True, exist_ok=True)
    grad = out / "grad.png"
    gradient_png(grad)
    settings = grbl_settings_args()

    header = f"{'job':18} {'lines':>6} {'max len':>7} {'rejected':>8} {'GRBL s':>9} {'lasergen s':>10} {'error %':>8}"
    if args.baud:
        header += f" {'GRBL s @' + format(args.baud, 'g'):>14}"
    print(header)
    worst = 0.0
    all_rejects = []
    for name, cli in JOBS.items():
        job = out / f"{name}.gcode"
        cmd = [sys.executable, "-m", "lasergen", *[a.format(grad=grad) for a in cli], "-o", str(job)]
        subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
        est = json.loads(subprocess.run([sys.executable, "-m", "lasergen", "estimate", "--json", str(job)],
                                        cwd=repo, check=True, capture_output=True, text=True).stdout)["time_s"]
        stripped = out / f"{name}.nc"
        stripped.write_text("".join(l for l in job.read_text().splitlines(True) if not l.startswith(";")))
        res = run_harness(harness, stripped, ["-q", *settings])
        raw = run_harness(harness, job, ["-q", *settings])  # comments included: GRBL must skip them
        f = res["fields"]
        grbl_s = float(f["time_s"])
        err = 100.0 * (est - grbl_s) / grbl_s
        worst = max(worst, abs(err))
        rej = int(f["rejected"]) + int(raw["fields"]["rejected"])
        all_rejects += [f"{name}: {r}" for r in res["rejects"] + raw["rejects"]]
        row = f"{name:18} {f['lines']:>6} {f['max_len']:>7} {rej:>8} {grbl_s:>9.3f} {est:>10.3f} {err:>+8.2f}"
        if args.baud:
            slow = run_harness(harness, stripped, ["-q", "-b", f"{args.baud:g}", *settings])["fields"]
            row += f" {float(slow['time_s']):>14.3f}"
        print(row)
    for r in all_rejects[:50]:
        print(r)
    print(f"worst |error| {worst:.2f} %; {len(all_rejects)} rejected line(s)")
    return 0 if worst <= 2.0 and not all_rejects else 1


if __name__ == "__main__":
    sys.exit(main())
