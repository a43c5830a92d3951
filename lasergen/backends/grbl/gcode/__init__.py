"""G-code in the GRBL 1.1 laser dialect: tokenising, interpreting, emitting and reading back."""

from lasergen.backends.grbl.gcode.emit import emit_body
from lasergen.backends.grbl.gcode.interpreter import Action, Interpreter, ModalState
from lasergen.backends.grbl.gcode.reader import ParsedProgram, read_program
from lasergen.backends.grbl.gcode.words import (
           STATUS,
           GcodeError,
           clean_line,
           split_words,
)

__all__ = ["Action", "GcodeError", "Interpreter", "ModalState", "ParsedProgram", "STATUS", "clean_line",
           "emit_body", "read_program", "split_words"]
