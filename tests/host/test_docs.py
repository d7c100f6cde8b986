"""The plugin author guide stays true: its table of public names is exactly `jobhost.__all__`,
and the snippets it shows are the example plugin's real code."""

import re
from pathlib import Path

import jobhost

ROOT = Path(__file__).parents[2]
GUIDE = (ROOT / "docs" / "plugin-authors.md").read_text()
EXAMPLE = ROOT / "tests" / "example_plugin"


def test_the_public_api_table_lists_exactly_what_jobhost_exports():
    table = GUIDE.split("| name | what it is |", 1)[1].split("\n\n", 1)[0]
    named = {name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert named == set(jobhost.__all__)


def test_guide_snippets_are_the_example_plugins_code():
    """Blocks headed `# jobhost_hello/<file>` and the pyproject block show lines of those files."""
    blocks = re.findall(r"```(python|toml)\n(.+?)```", GUIDE, re.S)
    checked = 0
    for kind, block in blocks:
        first, _, body = block.partition("\n")
        if kind == "toml":
            source, lines = (EXAMPLE / "pyproject.toml").read_text(), block
        elif first.startswith("# jobhost_hello/"):
            source, lines = (EXAMPLE / first[2:]).read_text(), body
        else:
            continue
        checked += 1
        for line in lines.splitlines():
            if line.strip() and not line.startswith(("from ", "import ")):
                assert line.strip() in source, f"not in the example plugin: {line!r}"
    assert checked == 3
