"""Differential check of lasergen's G-code interpreter against GRBL 1.1's own parser.

usage: python benchmarks/grbl_parser_check.py HARNESS [--blocks N] [--seed S] [--show K]

HARNESS is a native build of GRBL 1.1's gcode.c and nuts_bolts.c with the motion, spindle,
coolant and EEPROM calls stubbed out (GRBL is GPL: build it locally, it is not part of
lasergen). Its interface: one cleaned block per input line ("RESET" re-initialises the
parser), one output line per block:
    <block> -> [LINE x y z ...] [ARC ...] [PROBE x y z ...] [JOG x y z ...] = <status> | G<motion> pos <x> <y> <z> F<f>
The script streams the same blocks (single words, pairs, and random blocks of up to six words
from a vocabulary of supported, unsupported and malformed words, after random mode changes)
through both parsers and prints every block whose status code or resulting position differs.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys

from lasergen.backends.grbl.gcode import GcodeError, Interpreter

COMMANDS = ["G0", "G1", "G2", "G3", "G4", "G10", "G17", "G18", "G19", "G20", "G21", "G28", "G28.1", "G30",
            "G30.1", "G38.2", "G38.3", "G38.4", "G38.5", "G38", "G38.1", "G40", "G43", "G43.1", "G43.2", "G49",
            "G49.5", "G53", "G54", "G55", "G59", "G59.1", "G61", "G61.1", "G80", "G90", "G90.1", "G91", "G91.1",
            "G92", "G92.1", "G92.2", "G93", "G94", "G5", "G17.1", "G0.5", "G1.1", "G10.1", "G4.5", "G80.1",
            "M0", "M1", "M2", "M3", "M4", "M5", "M8", "M9", "M30", "M7", "M6", "M3.5", "M999"]
VALUES = ["X1", "X-2.5", "Y1", "Y3", "Z0.5", "Z-1", "F100", "F0", "F-5", "P1", "P0.5", "P7", "P-1", "L2", "L20",
          "L3", "R1", "R-2", "R0.2", "I1", "J1", "K1", "I0.5J0.5", "S100", "S0", "S-3", "T1", "T300", "T-1",
          "N5", "N10000001", "N-2", "A1", "Q1", "H1"]
SETUP = ["G91", "G90", "G20", "G21", "G93", "G94", "G18", "G19", "G17", "G80", "G1F100", "M3S100", "M5",
         "G54", "G55", "G10L2P2X1", "G92X0", "G92.1", "G43.1Z1", "G49", "G0X0Y0Z0", "G1X2Y2F50", "G28.1"]


def corpus(n_random: int, rng: random.Random) -> list[str]:
    words = COMMANDS + VALUES
    blocks = list(words)
    blocks += [a + b for a in COMMANDS for b in COMMANDS if a != b]
    blocks += [a + b for a in COMMANDS for b in VALUES]
    for _ in range(n_random):
        if rng.random() < 0.3:
            blocks.append(rng.choice(SETUP))
        blocks.append("".join(rng.sample(words, rng.randint(1, 6))))
    blocks += ["$J=" + b for b in ("X1F100", "G91X1F100", "X1", "G1X1F100", "G53X1F100", "X1F100S5", "G20X1F10",
                                   "G4P1F100", "M3X1F100", "X1F0", "F100")]
    return blocks


def ours(interp: Interpreter, block: str):
    try:
        if block.startswith("$J="):
            saved = interp.state.position
            actions = interp.execute(block[3:], jog=True)
            interp.state.position = list(actions[-1].end) if actions else saved
        else:
            interp.execute(block)
        return 0, interp.state.position
    except GcodeError as exc:
        return exc.code, interp.state.position


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("harness")
    ap.add_argument("--blocks", type=int, default=20000, help="random blocks besides the systematic ones")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=40, help="mismatches to print")
    args = ap.parse_args()
    blocks = corpus(args.blocks, random.Random(args.seed))
    grbl = subprocess.run([args.harness], input="\n".join(blocks) + "\n", capture_output=True, text=True,
                          check=True).stdout.splitlines()
    interp, mismatches, codes = Interpreter(), [], {}
    for block, reply in zip(blocks, grbl):
        head, _, tail = reply.rpartition(" = ")
        code = int(tail.split(" | ")[0])
        pos = [float(v) for v in tail.split(" pos ")[1].split()[:3]]
        mine, my_pos = ours(interp, block)
        codes[code] = codes.get(code, 0) + 1
        if mine != code or (code == 0 and max(abs(a - b) for a, b in zip(pos, my_pos)) > 1e-3):
            mismatches.append((block, code, mine, pos, [round(v, 4) for v in my_pos]))
    print(f"{len(blocks)} blocks, GRBL status counts {dict(sorted(codes.items()))}; {len(mismatches)} mismatches")
    for block, code, mine, pos, my_pos in mismatches[:args.show]:
        print(f"  {block!r}: GRBL {code} at {pos}, lasergen {mine} at {my_pos}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
