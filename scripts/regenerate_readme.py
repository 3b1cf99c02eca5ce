"""Regenerate the README's example outputs from real runs, or check that they are what the commands print.

A regenerable block is marked by an HTML comment right before it (an indented or fenced block)::

    <!-- example: probe data demo --out demo-corpus -->

or, with options, one ``key: value`` a line::

    <!-- example: probe data stats ../shared/data/conll2003/train.txt ../shared/data/conll2003/test.txt
    keep: ^(mention coverage|┃ type|│ (LOC|PER|all) )
    -->

``keep`` (a regular expression): only the output lines it matches are shown (a block that shows some rows).
``setup`` (a name in ``SETUPS``): files the command reads, made first in its working folder (e.g. a perturbed copy
of a prediction file, as the text around the block describes). ``skip`` (a reason): the check skips the example
(it needs the tiny model, or takes more than ~20 s); ``--all`` regenerates it anyway.

A block may start with the command itself (lines starting with ``probe``, continued by a trailing backslash): those
lines stay as they are and the lines after them are the output. Each command runs in a fresh temporary folder, with
``../shared/data`` (``$NERPROBE_DATA``) and ``$D`` (``../shared/data/llms4ner/data``) made absolute; its output is
normalised: stdout and stderr in the order printed, the data folder written back as ``../shared/data``, the temporary
folder removed from paths, table border lines (box drawing only), progress bars and timing lines dropped, trailing
spaces stripped.

Usage::

    python scripts/regenerate_readme.py            # rewrite README.md's examples (those not marked skip)
    python scripts/regenerate_readme.py --all      # also the slow ones and those that need the tiny model
    python scripts/regenerate_readme.py --check    # print a diff per example that differs; exit 1 if any
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DATA_TEXT = "../shared/data"
COLUMNS = "250"
"""Terminal width the commands print at (wide enough that no table wraps)."""

MARKER = re.compile(r"^<!-- example: (?P<cmd>.*?)\s*(?P<end>-->)?\s*$")
BORDER = re.compile(r"^[\s┏┓┗┛┡┩└┘━─┳┻╇┼┯┷╋│┃╭╮╰╯═╞╡╪├┤┬┴]*$")
TIMING = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|ms|min|seconds?|minutes?|steps/s|it/s|items/s)(?![\w/])")
PROGRESS = re.compile(r"━{3,}.*\d+/\d+")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Example:
    """One marked block of the README: the command and its options, where the block's lines are (``start`` to
    ``end``, end exclusive, in the README's lines), the command lines it echoes, its output lines as shown, and how
    it is indented (``"    "``) or fenced (``""``)."""

    command: str
    options: dict[str, str]
    start: int
    end: int
    echo: list[str]
    shown: list[str]
    indent: str
    marker_line: int

    @property
    def skip(self) -> str | None:
        """Why the check skips this example (None when it runs)."""
        return self.options.get("skip")


# -- parsing -----------------------------------------------------------------------------------------------------
def _marker(lines: list[str], i: int) -> tuple[str, dict, int] | None:
    """The command, options and the line after the marker comment starting at line ``i``, or None."""
    m = MARKER.match(lines[i])
    if not m:
        return None
    opts: dict[str, str] = {}
    j = i + 1
    if not m.group("end"):
        while j < len(lines) and lines[j].strip() != "-->":
            key, _, value = lines[j].partition(":")
            opts[key.strip()] = value.strip()
            j += 1
        j += 1
    return m.group("cmd"), opts, j


def _block(lines: list[str], j: int) -> tuple[int, int, list[str], str]:
    """The block after line ``j`` (blank lines skipped): its first and end line, its text lines and indentation."""
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j < len(lines) and lines[j].startswith("```"):
        k = j + 1
        while k < len(lines) and not lines[k].startswith("```"):
            k += 1
        return j + 1, k, lines[j + 1:k], ""
    k = j
    while k < len(lines) and (lines[k].startswith("    ") or (not lines[k].strip() and k + 1 < len(lines)
                                                                and lines[k + 1].startswith("    "))):
        k += 1
    if k == j:
        raise ValueError(f"README line {j + 1}: an example marker is not followed by a code block")
    return j, k, [ln[4:] for ln in lines[j:k]], "    "


def _split_echo(text: list[str]) -> tuple[list[str], list[str]]:
    """The command lines a block starts with (``probe ...`` and its backslash continuations) and the rest."""
    n = 0
    if text and text[0].startswith("probe "):
        n = 1
        while n < len(text) and text[n - 1].rstrip().endswith("\\"):
            n += 1
    return text[:n], text[n:]


def parse_examples(readme: str) -> list[Example]:
    """Every marked example of the README's text, in order."""
    lines = readme.split("\n")
    out = []
    for i in range(len(lines)):
        found = _marker(lines, i)
        if found is None:
            continue
        cmd, opts, j = found
        start, end, text, indent = _block(lines, j)
        echo, shown = _split_echo(text)
        out.append(Example(cmd, opts, start, end, echo, shown, indent, i))
    return out


# -- running -----------------------------------------------------------------------------------------------------
def data_dir() -> Path:
    """The real corpora: ``$NERPROBE_DATA``, else ../shared/data beside the checkout."""
    return Path(os.environ.get("NERPROBE_DATA", REPO.parent / "shared" / "data")).resolve()


def _argv(command: str, data: Path) -> list[str]:
    """The command's arguments with the data folder and ``$D`` made absolute."""
    command = command.replace("$D", f"{data}/llms4ner/data").replace(DATA_TEXT, str(data))
    args = shlex.split(command)
    if not args or args[0] != "probe":
        raise ValueError(f"an example command must start with 'probe': {command!r}")
    return [sys.executable, "-m", "nerprobe", *args[1:]]


def normalise(output: str, cwd: Path, data: Path, keep: str | None = None) -> list[str]:
    """The lines of ``output`` as the README shows them (see the module docstring)."""
    text = ANSI.sub("", output).replace(str(data), DATA_TEXT)
    text = text.replace(f"{cwd}/", "").replace(str(cwd), ".")
    out = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or BORDER.match(line) or TIMING.search(line) or PROGRESS.search(line):
            continue
        if keep and not re.search(keep, line):
            continue
        out.append(line)
    return out


def run_example(ex: Example, data: Path | None = None, timeout: float = 900) -> list[str]:
    """Run ``ex``'s command in a fresh temporary folder (after its setup) and return its normalised output."""
    data = data or data_dir()
    env = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "TERM": "dumb", "NERPROBE_DATA": str(data),
           "PYTHONUNBUFFERED": "1"}  # stdout and stderr interleaved as a terminal shows them
    with tempfile.TemporaryDirectory(prefix="readme-example-") as tmp:
        cwd = Path(tmp).resolve()
        setup = ex.options.get("setup")
        if setup:
            SETUPS[setup](cwd, data)
        proc = subprocess.run(_argv(ex.command, data), cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{ex.command!r} exited {proc.returncode}: {proc.stdout[-2000:]}")
        return normalise(proc.stdout, cwd, data, ex.options.get("keep"))


# -- setups: the files an example reads, made as the README's text describes ------------------------------------
def _alpaca(data: Path, name: str) -> list[dict]:
    return json.loads((data / "llms4ner" / "data" / name).read_text(encoding="utf-8"))


def setup_perturbed_conll_xml(cwd: Path, data: Path) -> None:
    """``model_xml.json``: the study's xml outputs for the first 200 CoNLL-2003 test sentences, ``LOC`` tags renamed
    ``CITY`` in every 7th output and the first ``PER`` tag doubled in every 11th."""
    recs = _alpaca(data, "conll03_xml_test_alpaca.json")[:200]
    for i, r in enumerate(recs):
        if i % 7 == 0:
            r["output"] = r["output"].replace("<LOC>", "<CITY>").replace("</LOC>", "</CITY>")
        if i % 11 == 0:
            m = re.search(r"<PER>.*?</PER>", r["output"])
            if m:
                r["output"] = r["output"][:m.end()] + " " + m.group(0) + r["output"][m.end():]
    (cwd / "model_xml.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")


def setup_untagged_genia_xml(cwd: Path, data: Path) -> None:
    """``untagged_xml.json``: the study's GENIA xml outputs with the tags removed from every 7th output."""
    recs = _alpaca(data, "genia_xml_test_alpaca.json")
    for i, r in enumerate(recs):
        if i % 7 == 0:
            r["output"] = re.sub(r"</?[A-Za-z_]+>", "", r["output"])
    (cwd / "untagged_xml.json").write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")


SETUPS = {"perturbed-conll-xml": setup_perturbed_conll_xml, "untagged-genia-xml": setup_untagged_genia_xml}


# -- rewriting ---------------------------------------------------------------------------------------------------
def render(ex: Example, output: list[str]) -> list[str]:
    """The block's new lines: its echoed command, then ``output``, indented as the block was."""
    return [f"{ex.indent}{ln}" if ln else "" for ln in ex.echo + output]


def regenerate(readme: str, outputs: dict[int, list[str]]) -> str:
    """The README's text with the blocks of the examples at ``outputs``' marker lines replaced by their output."""
    lines = readme.split("\n")
    for ex in sorted(parse_examples(readme), key=lambda e: -e.start):  # from the bottom: line numbers hold
        if ex.marker_line in outputs:
            lines[ex.start:ex.end] = render(ex, outputs[ex.marker_line])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md's examples (or ``--check`` them); returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; print a diff per differing example")
    ap.add_argument("--all", action="store_true", help="also the examples marked skip (slow or tiny model)")
    ap.add_argument("--only", help="run only the examples whose command contains this text")
    ap.add_argument("--readme", type=Path, default=README)
    args = ap.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    outputs, differ = {}, 0
    for ex in parse_examples(text):
        if (ex.skip and not args.all) or (args.only and args.only not in ex.command):
            print(f"skip: {ex.command}" + (f" ({ex.skip})" if ex.skip else ""), file=sys.stderr)
            continue
        print(f"run: {ex.command}", file=sys.stderr)
        got = run_example(ex)
        outputs[ex.marker_line] = got
        if got != ex.shown:
            differ += 1
            sys.stdout.writelines(difflib.unified_diff([s + "\n" for s in ex.shown], [s + "\n" for s in got],
                                                       f"README: {ex.command}", "printed now"))
    if args.check:
        return 1 if differ else 0
    new = regenerate(text, outputs)
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
    print(f"{len(outputs)} examples run, {differ} rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
