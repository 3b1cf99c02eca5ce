"""One meaning per flag name across `probe`'s commands, and one name per meaning.

Walks the typer app: every flag that two or more commands use must be listed in ``SHARED`` with the words its help
must contain in every command (so the help states the one meaning); a flag on the left of ``SYNONYMS`` may only be an
alias of the name on the right. ``PENDING`` lists the known violations in commands owned elsewhere, each with the
rename that fixes it: a fix must remove its entry (the last test fails while an entry is stale).
"""

from __future__ import annotations

import re
from collections import defaultdict

import typer.main

from nerprobe.cli import app

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
PENDING = {
    ("train", "--alpha"): "rename to --lora-alpha (LoRA alpha; --alpha is a significance level in compare/retention)",
    ("score", "--resamples"): "rename to --n-resamples (as retention, memorization, demo)",
    ("compare", "--resamples"): "rename to --n-resamples (as retention, memorization, demo)",
    ("score", "--lenient"): "rename to --credit-unlocated (--lenient elsewhere skips bad input records)",
    ("data stats", "--format"): "rename to --reader (it forces the corpus reader, not an output format)",
    ("data convert", "--format"): "rename to --reader (it forces the corpus reader, not an output format)",
}


def options():
    """``[(command path, option)]`` for every option of every command of the app."""
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
