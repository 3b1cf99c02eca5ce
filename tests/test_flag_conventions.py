"""One meaning per flag name across `probe`'s commands, and one name per meaning.

Walks the typer app: every flag that two or more commands use must be listed in ``SHARED`` with the words its help
must contain in every command (so the help states the one meaning); a flag on the left of ``SYNONYMS`` may only be an
alias of the name on the right. ``PENDING`` lists the known violations in commands owned elsewhere, each with the
rename that fixes it: a fix must remove its entry (the last test fails while an entry is stale).

A renamed flag keeps its old name as a hidden deprecated alias (``cli.common.deprecated_alias``) so that old command
lines still run: such an option is out of the convention's walk (it is not part of the interface ``--help`` shows),
but it must name a visible option of its command, and using it must warn and act as that option.
"""

from __future__ import annotations

import re
from collections import defaultdict

import json

import pytest
import typer.main
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.cli.common import DEPRECATED_HELP

#: flag -> a regex every command's help for it must match: the flag's one meaning.
SHARED = {
    "--model": r"alias|model",
    "--adapter": r"adapter",
    "--alpha": r"level|significance",  # the significance level of tests (never LoRA alpha: that is --lora-alpha)
    "--batch-size": r".*",  # items per batch (generation or training)
    "--cache-dir": r"generation cache",
    "--format": r"output format|bracketed",  # the NER output format a model writes (not a corpus reader)
    "--gold": r"[Gg]old",
    "--labels": r"conll2003|[Ll]abel",
    "--lenient": r"[Ss]kip",  # skip bad input records (and count them) instead of stopping
    "--limit": r"seeded random subset",  # never "the first N"
    "--match": r"strict",
    "--n-resamples": r"resamples",
    "--out": r".",  # where the command writes
    "--seed": r"[Ss]eed",
    "--symbolize": r"A, B, C",
    "--train": r"[Tt]raining corpus",
    "--allow-mismatch": r"differ|another text",
    "--device": r"cpu|cuda",
    "--system": r"system prompt",
    "--template": r"template",
    "--progress": r"",
    "--no-progress": r"",
    "--json": r"one JSON object",
    "--scheme": r"tag scheme",
    "--split": r"train, dev or test",
    "--tag-column": r"column",
    "--dtype": r"bf16",
    "--max-new-tokens": r"budget",
    "--reader": r"corpus reader",  # the reader a corpus file is read with (never an output format)
    "--credit-unlocated": r"[Cc]redit",
    "--lora-alpha": r"LoRA alpha",
}
#: name -> the one name of the same meaning; the left name may appear only as an alias of the right one.
SYNONYMS = {
    "--resamples": "--n-resamples",
    "--system-instruction": "--system",
    "--num_fewshot": "--num-fewshot",
    "--batch_size": "--batch-size",
    "--output_path": "--out",
}
#: (command, flag) -> the rename that fixes it, in commands owned by other engineers.
PENDING: dict[tuple[str, str], str] = {}
#: The renames done, as (command, old flag, new flag): each old flag stays a hidden deprecated alias.
RENAMED = [
    ("train", "--alpha", "--lora-alpha"),
    ("score", "--resamples", "--n-resamples"),
    ("compare", "--resamples", "--n-resamples"),
    ("score", "--lenient", "--credit-unlocated"),
    ("data stats", "--format", "--reader"),
    ("data convert", "--format", "--reader"),
]
_ALIAS_HELP = re.compile(re.escape(DEPRECATED_HELP).replace(re.escape("{new}"), "(--[a-z-]+)"))


def all_options():
    """``[(command path, option)]`` for every option of every command of the app, hidden ones included."""
    out = []

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])
            return
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option":
                out.append((" ".join(path), p))

    walk(typer.main.get_command(app), [])
    return out


def deprecated_aliases():
    """``[(command, option)]`` of the hidden deprecated aliases."""
    return [(c, o) for c, o in all_options() if o.hidden and _ALIAS_HELP.fullmatch(o.help or "")]


def options():
    """``[(command path, option)]`` of the interface: every option but the hidden deprecated aliases."""
    return [(c, o) for c, o in all_options() if not (o.hidden and _ALIAS_HELP.fullmatch(o.help or ""))]


def flag_uses():
    """``{flag: [(command, option)]}`` over all names (aliases included) of every option."""
    uses = defaultdict(list)
    for cmd, opt in options():
        for flag in list(opt.opts) + list(opt.secondary_opts):
            uses[flag].append((cmd, opt))
    return uses


def violations() -> dict[tuple[str, str], str]:
    """``{(command, flag): why}`` for every use of a flag against ``SHARED`` or ``SYNONYMS``."""
    bad = {}
    for flag, uses in flag_uses().items():
        commands = {c for c, _ in uses}
        if len(commands) > 1 and flag not in SHARED:
            for c in commands:
                bad[(c, flag)] = f"{flag} is used by {sorted(commands)}: state its one meaning in SHARED"
        if flag in SHARED:
            for c, opt in uses:
                if not re.search(SHARED[flag], opt.help or "", re.IGNORECASE):
                    bad[(c, flag)] = f"help {opt.help!r} does not state {flag}'s meaning /{SHARED[flag]}/"
        if flag in SYNONYMS:
            for c, opt in uses:
                if SYNONYMS[flag] not in list(opt.opts) + list(opt.secondary_opts):
                    bad[(c, flag)] = f"{flag} means {SYNONYMS[flag]}: use that name (or make it an alias)"
    return bad


def test_one_meaning_per_flag_name_and_one_name_per_meaning():
    found = {k: v for k, v in violations().items() if k not in PENDING}
    assert not found, "\n".join(f"probe {c} {f}: {why}" for (c, f), why in sorted(found.items()))


def test_pending_renames_are_still_needed():
    """A rename done elsewhere must take its entry out of PENDING (so the convention is enforced from then on)."""
    stale = set(PENDING) - set(violations())
    assert not stale, f"fixed, remove from PENDING: {sorted(stale)}"


def test_lm_eval_flag_names_are_accepted_by_retention():
    flags = {f for c, o in options() if c == "retention" for f in list(o.opts) + list(o.secondary_opts)}
    for name in ("--model_args", "--gen_kwargs", "--batch_size", "--device", "--num_fewshot", "--limit",
                 "--log_samples", "--output_path", "--apply_chat_template", "--system_instruction"):
        assert name in flags, name


def test_version_flag(capsys):
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("nerprobe ")


def test_every_deprecated_alias_names_a_visible_option_of_its_command():
    visible = defaultdict(set)
    for c, o in options():
        visible[c].update(o.opts)
    found = set()
    for c, o in deprecated_aliases():
        m = _ALIAS_HELP.fullmatch(o.help or "")
        assert m.group(1) in visible[c], f"probe {c} {o.opts[0]} aliases {m.group(1)}, which {c} does not have"
        assert not set(o.opts) & visible[c], f"probe {c} {o.opts[0]} is both visible and a deprecated alias"
        found.add((c, o.opts[0], m.group(1)))
    assert found == set(RENAMED)


def _invoke(*args):
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def scored_pair(tmp_path, data_dir):
    """A small gold CoNLL file and predictions for it (the gold rendered bracketed, one entity dropped)."""
    from nerprobe.data.io import read_corpus
    from nerprobe.formats import get_format

    gold = read_corpus(data_dir / "conll2003/valid.txt").sentences[:40]
    gold_path = tmp_path / "gold.jsonl"
    from nerprobe.data.jsonl import write_jsonl

    write_jsonl(gold, gold_path)
    fmt = get_format("bracketed")
    rows = []
    for i, s in enumerate(gold):
        out = fmt.render(s, sorted({e.label for e in s.entities}) or ["PER"])
        rows.append({"instruction": "", "input": s.text, "output": out if i % 7 else s.text})
    pred = tmp_path / "pred_bracketed.json"
    pred.write_text(json.dumps(rows))
    return gold_path, pred


@pytest.mark.parametrize("old,new,value", [("--resamples", "--n-resamples", "200"), ("--lenient", "--credit-unlocated", None)])
def test_score_old_flag_warns_once_and_acts_as_the_new_one(scored_pair, old, new, value):
    gold, pred = scored_pair
    base = ["score", "--gold", gold, "--pred", pred, "--json", "--seed", "3"]
    rc_new, out_new, err_new = _invoke(*base, new, *([value] if value else []))
    rc_old, out_old, err_old = _invoke(*base, old, *([value] if value else []))
    assert rc_new == rc_old == 0, err_old
    assert json.loads(out_old) == json.loads(out_new)
    assert err_old.count(f"warning: {old} is deprecated: use {new}") == 1
    assert "deprecated" not in err_new


def test_score_resamples_changes_the_ci_under_either_name(scored_pair):
    gold, pred = scored_pair
    base = ["score", "--gold", gold, "--pred", pred, "--json"]
    a = json.loads(_invoke(*base, "--n-resamples", "50")[1])["micro_f1_ci"]["signature"]
    b = json.loads(_invoke(*base, "--resamples", "60")[1])["micro_f1_ci"]["signature"]
    assert "n:50" in a and "n:60" in b


def test_old_and_new_name_together_is_one_line_error(scored_pair):
    gold, pred = scored_pair
    rc, _, err = _invoke("score", "--gold", gold, "--pred", pred, "--n-resamples", "50", "--resamples", "60")
    assert rc == 2 and err.strip().splitlines()[-1] == (
        "error: --n-resamples: given twice, as --n-resamples and as its deprecated alias --resamples: keep --n-resamples")


def test_data_reader_and_its_old_name(data_dir):
    f = data_dir / "conll2003/valid.txt"
    rc, out_new, _ = _invoke("data", "stats", "--json", "--reader", "conll", f)
    rc_old, out_old, err_old = _invoke("data", "stats", "--json", "--format", "conll", f)
    assert rc == rc_old == 0 and json.loads(out_new) == json.loads(out_old)
    assert "warning: --format is deprecated: use --reader" in err_old
    rc, _, err = _invoke("data", "stats", "--reader", "nope", f)
    assert rc == 2 and "error: --reader: unknown corpus format 'nope'" in err


def test_train_lora_alpha_and_its_old_name_are_checked_as_one(tmp_path, data_dir):
    """Both names reach the same setting: a bad value is named --lora-alpha either way (checked before any model
    is loaded)."""
    train = data_dir / "conll2003/valid.txt"
    for flag in ("--lora-alpha", "--alpha"):
        rc, _, err = _invoke("train", "--model", "tiny-base", "--train", train, "--out", tmp_path / flag, flag, "0")
        assert rc == 2 and err.strip().splitlines()[-1] == "error: --lora-alpha: alpha 0 must be positive", err
        assert ("deprecated" in err) == (flag == "--alpha")
