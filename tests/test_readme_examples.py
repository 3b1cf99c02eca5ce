"""The README shows what the tool prints now: every deterministic example block marked ``<!-- example: ... -->`` is
compared with the output of its command, run now (``scripts/regenerate_readme.py`` rewrites them). Examples marked
``skip`` (they need the tiny model, or take more than ~20 s) are skipped with that reason."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("regenerate_readme", REPO / "scripts" / "regenerate_readme.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


regen = _script()
EXAMPLES = regen.parse_examples(regen.README.read_text(encoding="utf-8"))


def test_the_readme_marks_its_examples():
    assert len(EXAMPLES) >= 6
    assert all(ex.command.startswith("probe ") for ex in EXAMPLES)
    assert all(ex.shown for ex in EXAMPLES), [ex.command for ex in EXAMPLES if not ex.shown]


@pytest.mark.parametrize("ex", EXAMPLES, ids=[f"line{ex.marker_line + 1}:{ex.command[:40]}" for ex in EXAMPLES])
def test_readme_example_is_what_the_command_prints(ex, data_dir):
    if ex.skip:
        pytest.skip(ex.skip)
    got = regen.run_example(ex, data_dir.resolve())
    assert got == ex.shown, ("README.md differs from what the command prints now; run "
                             "`python scripts/regenerate_readme.py` and review the diff")


def test_parsing_and_rewriting_keep_the_command_lines_and_the_rest(tmp_path):
    text = "\n".join([
        "intro", "", "<!-- example: probe data demo --out d", "keep: ^train", "-->", "",
        "    probe data demo \\", "        --out d", "    train: old", "", "after",
        "<!-- example: probe x -->", "```text", "old", "```", "end"])
    exs = regen.parse_examples(text)
    assert [e.command for e in exs] == ["probe data demo --out d", "probe x"]
    assert exs[0].options == {"keep": "^train"} and exs[0].echo == ["probe data demo \\", "    --out d"]
    assert exs[0].shown == ["train: old"] and exs[1].shown == ["old"] and exs[1].indent == ""
    new = regen.regenerate(text, {exs[0].marker_line: ["train: new", "test: new"], exs[1].marker_line: ["new"]})
    assert new.split("\n") == [
        "intro", "", "<!-- example: probe data demo --out d", "keep: ^train", "-->", "",
        "    probe data demo \\", "        --out d", "    train: new", "    test: new", "", "after",
        "<!-- example: probe x -->", "```text", "new", "```", "end"]


def test_normalise_drops_borders_and_timings_and_writes_paths_as_the_readme_does(tmp_path):
    data = Path("/abs/shared/data")
    out = (f"built 8 probe sets (1670 items) in 3.4s\n┏━━━━┳━━┓\n┃ a  ┃ b┃   \n"
           f"{tmp_path}/runs/x written\n"
           f"read {data}/conll2003/test.txt\n\x1b[1mbold\x1b[0m\n")
    assert regen.normalise(out, tmp_path, data) == ["┃ a  ┃ b┃", "runs/x written",
                                                    "read ../shared/data/conll2003/test.txt", "bold"]
    assert regen.normalise(out, tmp_path, data, keep="^read") == ["read ../shared/data/conll2003/test.txt"]
