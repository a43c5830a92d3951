"""`lasergen stream` inputs a user gets wrong: a resume journal that is not there, an empty job.

A `--resume=FILE` naming a missing file started the job over from its first mark (the runner
takes "no journal" as "nothing was sent", true only of the device's own journal): with a typo
in the name of the `--journal` an interrupted run wrote, every mark it had written was written
again. An empty job file "streamed" 0 lines with exit 0. Both are one line and exit 2.
"""

from tests.inputs.cli import one_line_error, run


def test_resume_from_a_journal_that_is_not_there_never_starts_over(tmp_path):
    job = tmp_path / "q.gcode"
    assert run("qr", "M", "-o", job).exit_code == 0
    port = "sim://?device=newuser-resume"
    cut = run("stream", job, "--port", f"{port}&drop_after=150", "--no-progress", "--journal", tmp_path / "real.journal",
              "--ledger", tmp_path / "a.npz")
    assert cut.exit_code == 2 and "--resume" in cut.stderr
    res = run("stream", job, "--port", port, "--no-progress", "--resume=" + str(tmp_path / "reel.journal"),
              "--ledger", tmp_path / "b.npz")
    one_line_error(res, "reel.journal", "not found", absent=("streamed",))
    assert not (tmp_path / "b.npz").exists()  # nothing was sent
    done = run("stream", job, "--port", port, "--no-progress", "--resume=" + str(tmp_path / "real.journal"),
               "--ledger", tmp_path / "c.npz", "--json")
    assert done.exit_code == 0, done.output


def test_an_empty_job_file_is_not_streamed(tmp_path):
    (tmp_path / "empty.gcode").write_text("")
    one_line_error(run("stream", tmp_path / "empty.gcode", "--port", "sim://", "--no-progress"), "empty", absent=("streamed",))
