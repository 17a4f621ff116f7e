"""The README's example runs as written and prints what it claims."""

import re
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_example_runs_and_prints_its_comments():
    blocks = python_blocks()
    assert blocks, "README has no python example"
    for block in blocks:
        out = StringIO()
        with redirect_stdout(out):
            exec(compile(block, str(README), "exec"), {})
        claimed = re.findall(r"print\(.*\)\s+# (.+)", block)
        assert claimed == out.getvalue().splitlines()
