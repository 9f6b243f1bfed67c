"""The README's Python snippets run, and its main example passes `mypy --strict`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def snippets():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(snippets()) >= 2


@pytest.mark.parametrize("index", range(len(snippets())))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    code = snippets()[index]
    exec(compile(code, f"README.md python snippet {index}", "exec"), {"__name__": "__readme__"})


def test_readme_example_passes_mypy_strict(tmp_path):
    pytest.importorskip("mypy")
    example = tmp_path / "readme_example.py"
    example.write_text(snippets()[0], encoding="utf-8")
    config = Path(__file__).resolve().parents[1] / "pyproject.toml"
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(config), str(example)],
                            capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
