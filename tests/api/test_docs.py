"""The documentation builds (Sphinx, warnings as errors) and its examples run: every ```python
block of README.md and of each docs page, the blocks of one page in order in one namespace,
in an empty folder."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [REPO / "README.md"]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(tmp_path / "html")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    api = (tmp_path / "html" / "api.html").read_text()
    import lasergen

    for name in lasergen.__all__:
        if name != "__version__":
            assert f"lasergen.{name}" in api, f"{name} is public but not on the API page"


def test_every_workflow_page_has_an_example():
    for page in ("qr_dry_run", "three_level", "stream", "calibrate", "tags", "depth"):
        assert python_blocks(DOCS / f"{page}.md"), page
    assert python_blocks(REPO / "README.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_run(page, tmp_path):
    code = "\n\n".join(python_blocks(page))
    if not code:
        pytest.skip("no python blocks")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{page.name}:\n{done.stderr[-3000:]}"
