"""The command line as a user meets it, for the bad-input tests: run `lasergen ...` in process,
and the one-line-error contract (exit 2, one `lasergen: error:` line naming what was wrong)."""

from click.testing import CliRunner

from lasergen_cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(res, *words, absent=()):
    """`words` must be in the one error line; `absent` (and a traceback) nowhere in the output."""
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lasergen: error:"), lines
    assert all(w in lines[0] for w in words), lines[0]
    for text in ("Traceback", *absent):
        assert text not in res.output and text not in res.stderr, res.output
