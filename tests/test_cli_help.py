"""Every option of every command says what it does, in which unit, and what its default is."""

import re

import click
import pytest
from click.testing import CliRunner

from lasergen_cli import main

UNIT_WORDS = {"_um": r"\bum\b|µm", "_mm": r"\bmm\b", "_s": r"\bs\b|second", "_khz": r"\bkHz\b", "_uj": r"\buJ\b",
              "_nm": r"\bnm\b", "_c": r"°C|\bC\b", "_hours": r"\bh\b|hour", "_mm_s": r"mm/s"}


def commands(group=main, prefix=("lasergen",)):
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)


OPTIONS = [(" ".join(path), p) for path, cmd in commands() for p in cmd.params
           if isinstance(p, click.Option) and p.name not in ("help",)]


@pytest.mark.parametrize("where, option", OPTIONS, ids=[f"{w} {o.opts[-1]}" for w, o in OPTIONS])
def test_option_has_help_with_unit_and_default(where, option):
    assert option.help and len(option.help) > 8, f"{where} {option.opts[-1]}: no help text"
    name = option.name.lower()
    suffix = next((s for s in sorted(UNIT_WORDS, key=len, reverse=True) if name.endswith(s)), None)
    if suffix:
        assert re.search(UNIT_WORDS[suffix], option.help), f"{where} {option.opts[-1]}: unit missing in {option.help!r}"
    takes_value = not option.is_flag and not option.count and not option.multiple  # repeatable: no single default
    if takes_value and option.default is not None and not option.required:
        assert option.show_default, f"{where} {option.opts[-1]}: default {option.default!r} not shown"
    if (takes_value and option.default is None or option.multiple) and not option.required:
        assert re.search(r"default|else|optional|only|none|when|if", option.help, re.I), \
            f"{where} {option.opts[-1]}: say what happens without it"


def test_every_command_has_a_summary():
    for path, cmd in commands():
        assert cmd.help and cmd.help.strip(), " ".join(path)


def test_stream_help_documents_the_pause_keys():
    out = CliRunner().invoke(main, ["stream", "--help"]).output
    for key, action in (("p", "pause"), ("r", "resume"), ("a", "abort")):
        assert re.search(rf"\b{key}\b[^\n]*{action}", out, re.I), out
