"""A corrupted reply is "unknown" (a protocol fault the stream halts on), never an exception:
the client's reader thread parses every line the link brings, and must outlive all of them."""

import random

from drivers.grbl.protocol import parse_line

GOOD = ["<Idle|MPos:10.000,10.230,0.000|FS:0,0|WCO:0.000,0.000,0.000>", "<Run|MPos:1.5,2.5,0.000|Bf:15,127|FS:600,200>",
        "<Hold:0|MPos:1,2,3|FS:0,0|Ov:100,100,100>", "ok", "error:20", "ALARM:1", "[MSG:Caution: Unlocked]",
        "Grbl 1.1h ['$' for help]", "$30=1000", "[VER:1.1h.20190825:LG-1234]", "[OPT:VZ,15,128]",
        "[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]"]
NOISE = "#%&*@^|}{0123456789abcdefxyz,:.<>"  # the emulator's corruption alphabet and GRBL's separators


def test_every_corrupted_reply_parses():
    rng = random.Random(7)
    kinds = set()
    for _ in range(20000):
        line = [c if rng.random() > 0.05 else rng.choice(NOISE) for c in rng.choice(GOOD)]
        kinds.add(parse_line("".join(line)).kind)  # must not raise
    assert "unknown" in kinds and "status" in kinds
    assert parse_line("<Hold:0|MPos:1,2,3|FS:040|Ov:107,100,100>").kind == "unknown"  # FS cut short
    assert parse_line("<Run|MPos:1.5,2.5,0.000|Bf:156127|FS:600,200>").kind == "unknown"
