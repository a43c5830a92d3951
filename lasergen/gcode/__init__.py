"""G-code in the GRBL 1.1 laser dialect: tokenising, interpreting, emitting and reading back."""

from .emit import emit_body
from .interpreter import Action, Interpreter, ModalState
from .reader import ParsedProgram, read_program
from .words import STATUS, GcodeError, clean_line, split_words

__all__ = ["Action", "GcodeError", "Interpreter", "ModalState", "ParsedProgram", "STATUS", "clean_line",
           "emit_body", "read_program", "split_words"]
