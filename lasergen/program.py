"""A job body read back: the toolpath it executes and, per toolpath row, the body line it came from.

Every back-end's reader returns one (`lasergen.backends.<family>.language.read_body`), so the
runner, `estimate` and the simulator handle any controller's job alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasergen.toolpath import Toolpath


@dataclass
class ParsedProgram:
    toolpath: Toolpath
    row_line: np.ndarray  # 0-based source line of each toolpath row
    n_lines: int
