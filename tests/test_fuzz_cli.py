"""Every file-reading command over a generated set of bad inputs and bad output paths.

For each case: exit code 2, exactly one line on stderr that starts with ``error:`` and names the file, no traceback,
every file of the workspace byte-identical afterwards (inputs untouched, nothing written anywhere — a refused command
writes nothing, not even in its output location).

Commands: ``data stats``, ``data convert``, ``data demo``, ``formats convert``, ``score``, ``generate``, ``train``,
``memorization``, ``retention`` and ``report``. No model is ever loaded: ``generate`` gets a model folder that passes
the pre-load checks (config.json, a .safetensors name) so that the bad corpus is what stops it; ``train`` reads its
corpus before it resolves the model; ``memorization`` runs the lookup baseline; ``retention`` stops at its output or
data checks. Everything runs in-process (typer's CliRunner), in well under two minutes on two cores.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app

DEEP = 10_000
GOOD_JSONL = b'{"id": "s0", "text": "EU rejects German call", "entities": [[0, 2, "ORG"], [11, 17, "MISC"]]}\n'
GOOD_CONLL = b"EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n"
BIG = 1_000_000


# ---- the bad inputs --------------------------------------------------------------------------------------------------


def _jsonl(*records) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _truncated_tgz() -> bytes:
    """A GENIA-like .tgz cut in the middle of its only member."""
    rng = random.Random(0)
    words = " ".join("".join(rng.choice("abcdefghij") for _ in range(8)) for _ in range(40_000))
    xml = f"<set><article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo><title><sentence>{words}" \
          "</sentence></title></article></set>".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("GENIAcorpus3.02.xml")
        info.size = len(xml)
        tf.addfile(info, io.BytesIO(xml))
    data = buf.getvalue()
    return data[: len(data) // 2]


#: Corpus files no reader may accept: name → bytes. Every corpus-reading command gets each of them.
BAD_CORPORA: dict[str, bytes] = {
    "deep.jsonl": b'{"text": "x", "entities": ' + b"[" * DEEP + b"]" * DEEP + b"}\n",
    "deep_object.jsonl": b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"\n",
    "deep.json": b"[" * DEEP + b"]" * DEEP,
    "deep_alpaca.json": b'[{"instruction": "i", "input": "x", "output": ' + b"[" * DEEP + b"]" * DEEP + b"}]",
    "latin1.json": '[{"instruction": "i", "input": "Café au lait", "output": "x"}]'.encode("latin-1"),
    "latin1.jsonl": '{"text": "Café", "entities": []}\n'.encode("latin-1"),
    "latin1.txt": "Café B-ORG\nau O\n".encode("latin-1"),
    "latin1_line3.txt": b"EU B-ORG\n\nrejects O\nCaf\xe9 O\n",
    "binary.jsonl": bytes(range(256)) * 4,
    "utf16.jsonl": '{"text": "ab", "entities": []}\n'.encode("utf-16"),
    "surrogate.jsonl": b'{"text": "a\\ud800b", "entities": []}\n',
    "surrogate_alpaca.json": b'[{"instruction": "i", "input": "a\\udfffb", "output": "x"}]',
    "binary.txt": b"\x00\x01\x02\xff\xfe" * 50,
    "nul.jsonl": b'{"text": "a\x00b"\x00}\n',
    "empty.txt": b"",
    "empty.jsonl": b"",
    "empty.json": b"",
    "blank.jsonl": b"\n \n\t\n",
    "bom_only.txt": b"\xef\xbb\xbf",
    "truncated.jsonl": b'{"text": "EU rejects", "entities": [[0, 2, "ORG"]',
    "number.json": b"42",
    "string.json": b'"a corpus"',
    "object.json": b'{"not": "a corpus"}',
    "list_record.jsonl": b"[1, 2, 3]\n",
    "string_record.jsonl": b'"text"\n',
    "tokens_string.jsonl": _jsonl({"tokens": "ab"}),
    "tokens_string_text.jsonl": _jsonl({"text": "ab", "tokens": "ab"}),
    "entity_type_null.jsonl": _jsonl({"tokens": ["a", "b"], "entity_mentions": [{"start": 0, "end": 1,
                                                                                   "entity_type": None}]}),
    "label_null.jsonl": _jsonl({"text": "ab", "entities": [[0, 1, None]]}),
    "label_number.jsonl": _jsonl({"text": "ab", "entities": [[0, 1, 5]]}),
    "label_empty.jsonl": _jsonl({"text": "ab", "entities": [[0, 1, ""]]}),
    "label_list.jsonl": _jsonl({"text": "ab", "entities": [{"start": 0, "end": 1, "label": ["X"]}]}),
    "offset_negative.jsonl": _jsonl({"text": "ab", "entities": [[-1, 1, "X"]]}),
    "offset_float.jsonl": _jsonl({"text": "ab", "entities": [[0.0, 1.0, "X"]]}),
    "offset_bool.jsonl": _jsonl({"text": "ab", "entities": [[False, True, "X"]]}),
    "offset_past_end.jsonl": _jsonl({"text": "ab", "entities": [[0, 9, "X"]]}),
    "offset_reversed.jsonl": _jsonl({"text": "ab", "entities": [[2, 1, "X"]]}),
    "offset_string.jsonl": _jsonl({"text": "ab", "entities": [["0", "1", "X"]]}),
    "entities_object.jsonl": _jsonl({"text": "ab", "entities": {"0": "X"}}),
    "entity_short.jsonl": _jsonl({"text": "ab", "entities": [[0, 1]]}),
    "text_number.jsonl": _jsonl({"text": 5, "entities": []}),
    "id_list.jsonl": _jsonl({"id": [1], "text": "ab", "entities": []}),
    "meta_list.jsonl": _jsonl({"text": "ab", "entities": [], "meta": [1]}),
    "token_offsets_bad.jsonl": _jsonl({"text": "ab", "tokens": [["ab", 0, 7]], "entities": []}),
    "token_text_number.jsonl": _jsonl({"text": "ab", "tokens": [[5, 0, 2]], "entities": []}),
    "token_span_past_end.jsonl": _jsonl({"tokens": ["a", "b"], "entity_mentions": [[0, 5, "X"]]}),
    "no_text_no_tokens.jsonl": _jsonl({"sentence": "ab"}),
    "second_line_bad.jsonl": GOOD_JSONL + b"{oops\n",
    "huge_line.jsonl": _jsonl({"tokens": "a" * BIG}),
    "huge_tag.txt": b"EU " + b"X" * BIG + b"\n",
    "huge_invalid_json.jsonl": b'{"text": "' + b"a" * BIG + b'", oops}\n',
    "chunk_tags.txt": b"EU B-NP\nrejects B-VP\nGerman B-NP\ncall I-NP\n.\tO\n".replace(b"\t", b" "),
    "one_column.txt": b"EU\nrejects\n",
    "ragged.txt": b"EU NNP B-ORG\nrejects O\n",
    "illegal_tag.txt": b"EU Q-ORG\n",
    "bare_prefix.txt": b"EU B-\n",
    "iobes_unclosed.txt": b"EU B-ORG\nrejects O\n\nx S-PER\n",
    "malformed.xml": b"<set><article><title><sentence>EU</title></set>",
    "deep.xml": b"<set><article><articleinfo><bibliomisc>M:1</bibliomisc></articleinfo><title><sentence>"
                + b"<cons sem='G#DNA_x'>" * 5000 + b"x" + b"</cons>" * 5000 + b"</sentence></title></article></set>",
    "no_sentences.xml": b"<set></set>",
    "truncated.tgz": _truncated_tgz(),
    "garbage.tgz": b"this is not a tar archive at all\n" * 20,
    "alpaca_not_objects.json": b"[1, 2]",
    "alpaca_output_number.json": json.dumps([{"instruction": "i", "input": "EU", "output": 5}]).encode(),
    "alpaca_unreadable_output.json": json.dumps([{"instruction": "i", "input": "EU rejects",
                                                   "output": "<ORG>Nowhere</ORG>"}]).encode(),
    "[bold]markup[/bold].jsonl": b"{oops\n",
    "[/red]closing.txt": b"EU Q-ORG\n",
    "dollar$x$.jsonl": b"{oops\n",
    "new\nline.jsonl": b"{oops\n",
    "spaces and 'quotes'.jsonl": b"{oops\n",
}

#: Inputs that are not files at all: name → kind.
NOT_FILES = {"a_directory.jsonl": "dir", "missing.jsonl": "missing", "loop.jsonl": "loop", "pipe.jsonl": "fifo"}

#: Label-set JSON files that must be refused (``--labels FILE``).
BAD_LABELS = {
    "labels_deep.json": b"[" * DEEP + b"]" * DEEP,
    "labels_latin1.json": '["PER", "ORG", "Café"]'.encode("latin-1"),
    "labels_number.json": b"7",
    "labels_empty.json": b"[]",
    "labels_dupes.json": b'["PER", "PER"]',
    "labels_truncated.json": b'{"names": ["PER"',
}

#: ``dataset_info.json`` files already in ``formats convert``'s output folder, which it must not overwrite.
BAD_DATASET_INFO = {
    "deep": b'{"a": ' * DEEP + b"1" + b"}" * DEEP,
    "latin1": '{"caf\xe9": {}}'.encode("latin-1"),
    "array": b"[]",
    "truncated": b'{"a": {',
}

#: Adapter folders with one broken JSON file: (tag, file name, bytes).
BAD_ADAPTERS = [
    ("config-deep", "adapter_config.json", b"[" * DEEP + b"]" * DEEP),
    ("config-truncated", "adapter_config.json", b'{"base_model_name_or_path": '),
    ("manifest-deep", "nerprobe_adapter.json", b'{"a": ' * DEEP + b"1" + b"}" * DEEP),
    ("manifest-latin1", "nerprobe_adapter.json", '{"format": "caf\xe9"}'.encode("latin-1")),
]

MMLU_LINE = b'{"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1, "subject": "math"}\n'
#: Second lines of an MMLU test file that retention must refuse, naming the file and line.
BAD_BENCHMARK_DATA = {
    "deep": b'{"q": ' + b"[" * DEEP + b"]" * DEEP + b"}\n",
    "latin1": '{"question": "Café?"}\n'.encode("latin-1"),
    "truncated": b'{"question": "x", "choi',
    "list": b"[1, 2]\n",
}

#: Prediction files ``score`` must refuse (gold is a good corpus).
BAD_PREDICTIONS = {
    "pred_deep.jsonl": b'{"id": "s0", "output": ' + b"[" * DEEP + b"]" * DEEP + b"}\n",
    "pred_deep.json": b"[" * DEEP + b"]" * DEEP,
    "pred_latin1.jsonl": '{"id": "s0", "output": "Café"}\n'.encode("latin-1"),
    "pred_latin1.json": '[{"instruction": "i", "input": "Café", "output": "x"}]'.encode("latin-1"),
    "pred_binary.jsonl": bytes(range(256)) * 4,
    "pred_truncated.json": b'[{"instruction": "i", "input": "EU", "output": "x"',
    "pred_number.json": b"42",
    "pred_empty.jsonl": b"",
}


# ---- the workspace ---------------------------------------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    inputs: Path
    good_jsonl: Path
    good_conll: Path
    good_alpaca: Path
    model: Path
    run: Path
    user_folder: Path


def _make_not_file(path: Path, kind: str) -> None:
    if kind == "dir":
        path.mkdir()
        (path / "inside.txt").write_text("not a corpus\n")
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "fifo":
        os.mkfifo(path)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("fuzz")
    inputs = root / "in"
    inputs.mkdir()
    for name, data in {**BAD_CORPORA, **BAD_LABELS, **BAD_PREDICTIONS}.items():
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)  # "[/red].txt" is the file "red].txt" in "["
        (inputs / name).write_bytes(data)
    for name, kind in NOT_FILES.items():
        _make_not_file(inputs / name, kind)
    for name, data in BAD_DATASET_INFO.items():
        d = inputs / f"info_{name}"
        d.mkdir()
        (d / "dataset_info.json").write_bytes(data)
    good_jsonl = inputs / "good.jsonl"
    good_jsonl.write_bytes(GOOD_JSONL)
    good_conll = inputs / "good.txt"
    good_conll.write_bytes(GOOD_CONLL)
    good_alpaca = inputs / "good_xml_alpaca.json"
    good_alpaca.write_text(json.dumps([{"instruction": "tag", "input": "EU rejects German call",
                                        "output": "<ORG>EU</ORG> rejects <MISC>German</MISC> call"}]))
    (inputs / "nested.jsonl").write_bytes(_jsonl({"text": "EU Bank", "entities": [[0, 7, "ORG"], [0, 2, "LOC"]]}))
    (inputs / "labels_other.json").write_bytes(b'["PER", "LOC"]')
    (inputs / "genia_small.xml").write_bytes(
        b"<set><article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo><title><sentence>"
        b"<cons sem='G#DNA_x'>IL-2 gene</cons> expression</sentence></title></article></set>")
    (inputs / "hardlink.jsonl").hardlink_to(good_jsonl)
    (inputs / "symlink.jsonl").symlink_to(good_jsonl)
    # a model folder that passes the pre-load checks; it is never loaded (the corpus or the output stops first)
    model = root / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "qwen2"}')
    (model / "model.safetensors").write_bytes(b"")
    # adapters whose JSON files are broken: generate must say which file, before loading anything
    for tag, fname, data in BAD_ADAPTERS:
        a = root / "adapters" / tag
        a.mkdir(parents=True)
        (a / "adapter_model.safetensors").write_bytes(b"")
        (a / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(model)}))
        (a / fname).write_bytes(data)
    ok = root / "adapters" / "ok"
    ok.mkdir(parents=True)
    (ok / "adapter_model.safetensors").write_bytes(b"")
    (ok / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(model)}))
    # benchmark data folders with a broken MMLU file (retention reads them before any model loads)
    for tag, data in BAD_BENCHMARK_DATA.items():
        d = root / "benchmarks" / tag / "mmlu"
        d.mkdir(parents=True)
        (d / "dev.jsonl").write_bytes(MMLU_LINE)
        (d / "test.jsonl").write_bytes(MMLU_LINE + data)
    (root / "mycorpus").mkdir()
    (root / "mycorpus" / "train.jsonl").write_bytes(GOOD_JSONL)
    # a folder of the user's own, which no command may write into or replace
    user = root / "notes"
    user.mkdir()
    (user / "notes.txt").write_text("my notes\n")
    # a real (lookup baseline) memorization run for report; made before the snapshots
    run = root / "runs" / "mem"
    r = CliRunner().invoke(app, ["memorization", "--model", "lookup", "--limit", "5",
                                 "--no-progress", "--out", str(run)])
    assert r.exit_code == 0, r.output
    return Workspace(root, inputs, good_jsonl, good_conll, good_alpaca, model, run, user)


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` → the sha256 of its bytes (or its kind for folders, links and pipes)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                snap[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                snap[rel] = "dir"
            elif p.is_file():
                snap[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                snap[rel] = "special"
    return snap


# ---- the cases -------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """A command line (``{in}``, ``{root}`` ... are workspace paths) and the text its error line must contain."""

    id: str
    args: list[str]
    names: str
    cwd: str = "{root}"
    extra: dict = field(default_factory=dict)


def _corpus_cases(name: str) -> list[Case]:
    """Every corpus-reading command on the bad corpus file ``in/name``."""
    f = "{in}/" + name
    shown = name.replace("\n", "\\n")
    cases = [
        Case(f"score-gold[{name}]", ["score", "--gold", f, "--pred", "{in}/good.jsonl"], shown),
        Case(f"generate[{name}]", ["generate", "--model", "{model}", "--input", f, "--format", "xml",
                                   "--no-progress", "--out", "{root}/out/preds.jsonl"], shown),
        Case(f"data-stats[{name}]", ["data", "stats", f], shown),
        Case(f"data-stats-2nd[{name}]", ["data", "stats", "{in}/good.jsonl", f], shown),
        Case(f"data-convert[{name}]", ["data", "convert", f, "{root}/out/converted.jsonl"], shown),
        Case(f"formats-convert[{name}]", ["formats", "convert", f, "--format", "xml", "--out", "{root}/out"], shown),
        Case(f"train[{name}]", ["train", "--model", "{model}", "--train", f, "--out", "{root}/out/adapter"], shown),
        Case(f"memorization-test[{name}]", ["memorization", "--model", "lookup", "--train", "{in}/good.jsonl",
                                             "--test", f, "--no-progress", "--out", "{root}/out/run"], shown),
        Case(f"memorization-train[{name}]", ["memorization", "--model", "lookup", "--train", f,
                                              "--test", "{in}/good.jsonl", "--no-progress", "--out", "{root}/out/run"],
             shown),
    ]
    return cases


def _cases() -> list[Case]:
    cases: list[Case] = []
    for name in list(BAD_CORPORA) + list(NOT_FILES):
        cases += _corpus_cases(name)
    for name in BAD_LABELS:
        cases.append(Case(f"formats-labels[{name}]", ["formats", "convert", "{in}/good.jsonl", "--format", "xml",
                                                      "--labels", "{in}/" + name, "--out", "{root}/out"], name))
        cases.append(Case(f"train-labels[{name}]", ["train", "--model", "{model}", "--train", "{in}/good.jsonl",
                                                    "--labels", "{in}/" + name, "--out", "{root}/out/a"], name))
    for name in BAD_DATASET_INFO:
        cases.append(Case(f"formats-dataset-info[{name}]", ["formats", "convert", "{in}/good.jsonl", "--format",
                                                            "xml", "--out", "{in}/info_" + name], "dataset_info.json"))
    for name in list(BAD_PREDICTIONS) + ["a_directory.jsonl", "missing.jsonl", "pipe.jsonl", "deep.jsonl",
                                         "[bold]markup[/bold].jsonl"]:
        cases.append(Case(f"score-pred[{name}]", ["score", "--gold", "{in}/good.jsonl", "--pred", "{in}/" + name],
                          name))

    # outputs that resolve to an input, or names that are paths
    same = [("same", "{in}/good.jsonl"), ("dot-dot", "{in}/../in/good.jsonl"), ("symlink", "{in}/symlink.jsonl"),
            ("hardlink", "{in}/hardlink.jsonl"), ("relative", "in/good.jsonl")]
    for tag, out in same:
        cases.append(Case(f"data-convert-onto-input[{tag}]", ["data", "convert", "{in}/good.jsonl", out],
                          out.replace("{in}", "").lstrip("/")))
        cases.append(Case(f"generate-onto-input[{tag}]", ["generate", "--model", "{model}", "--input",
                                                          "{in}/good.jsonl", "--format", "xml", "--out", out],
                          out.replace("{in}", "").lstrip("/")))
    cases.append(Case("formats-onto-input", ["formats", "convert", "{in}/good_xml_alpaca.json", "--format", "xml",
                                             "--out", "{in}", "--name", "good_xml_alpaca"], "good_xml_alpaca.json"))
    # names that are paths: were they followed, the snapshot of the workspace would show the file they wrote
    for bad_name in ["../../escaped", "{root}/abs-escape", "..", ".", "a/b", "~x", ""]:
        cases.append(Case(f"formats-name[{bad_name}]", ["formats", "convert", "{in}/good.jsonl", "--format", "xml",
                                                        "--out", "{root}/out/a/b", "--name", bad_name], "--name"))

    # output paths of the wrong kind
    for cmd, args in {
        "data-convert": ["data", "convert", "{in}/good.jsonl"],
        "generate": ["generate", "--model", "{model}", "--input", "{in}/good.jsonl", "--format", "xml", "--out"],
    }.items():
        for tag, out, shown in [("dir", "{root}/notes", "notes"), ("under-file", "{in}/good.txt/x.jsonl", "good.txt"),
                                ("dot", ".", "."), ("root", "/", "/"), ("pipe", "{in}/pipe.jsonl", "pipe.jsonl")]:
            cases.append(Case(f"{cmd}-out[{tag}]", args + [out], shown))
    cases.append(Case("formats-out[file]", ["formats", "convert", "{in}/good.jsonl", "--format", "xml", "--out",
                                            "{in}/good.txt"], "good.txt"))
    train = ["train", "--model", "{model}", "--train", "{in}/good.jsonl", "--max-steps", "1", "--out"]
    for tag, out, extra, shown in [
        ("dot", ".", [], "."), ("dot-overwrite", ".", ["--overwrite"], "."), ("root", "/", ["--overwrite"], "/"),
        ("file", "{in}/good.txt", ["--overwrite"], "good.txt"), ("user-folder", "{root}/notes", [], "notes"),
        ("user-folder-overwrite", "{root}/notes", ["--overwrite"], "notes"),
        ("holds-input", "{in}", ["--overwrite"], "in"), ("parent-is-file", "{in}/good.txt/adapter", [], "good.txt"),
    ]:
        cases.append(Case(f"train-out[{tag}]", train + [out] + extra, shown))
    mem = ["memorization", "--model", "lookup", "--no-progress", "--train", "{in}/good.jsonl", "--test",
           "{in}/good.jsonl", "--out"]
    ret = ["retention", "--model", "{model}", "--tasks", "local_mmlu", "--no-progress", "--out"]
    rep = ["report", "{runs}"]
    for tag, out, shown in [("file", "{in}/good.txt", "good.txt"), ("dot", ".", "."),
                            ("user-folder", "{root}/notes", "notes"),
                            ("parent-is-file", "{in}/good.txt/r", "good.txt")]:
        cases.append(Case(f"memorization-out[{tag}]", mem + [out], shown))
        cases.append(Case(f"retention-out[{tag}]", ret + [out], shown))
        cases.append(Case(f"report-out[{tag}]", rep + ["--out", out], shown))
    cases.append(Case("memorization-out[holds-input]", mem + ["{in}"], "in"))
    cases.append(Case("report-out[run-dir]", ["report", "{runs}/mem", "--out", "{runs}/mem"], "mem"))
    cases.append(Case("report-out[runs-parent]", ["report", "{runs}/mem", "--out", "{runs}"], "runs"))
    cases.append(Case("retention-data-dir[file]", ret[:-1] + ["--data-dir", "{in}/good.txt", "--out", "{root}/out/r"],
                      "good.txt"))
    cases.append(Case("retention-data-dir[missing]", ret[:-1] + ["--adapter", "{root}/adapters/ok", "--data-dir",
                                                                 "{in}/missing.jsonl", "--out", "{root}/out/r"],
                      "missing.jsonl/mmlu/test.jsonl"))

    for tag, fname, _ in BAD_ADAPTERS:
        cases.append(Case(f"generate-adapter[{tag}]", ["generate", "--model", "{model}", "--adapter",
                                                       "{root}/adapters/" + tag, "--input", "{in}/good.jsonl",
                                                       "--format", "xml", "--out", "{root}/out/p.jsonl"], fname))

    for tag in BAD_BENCHMARK_DATA:
        cases.append(Case(f"retention-data[{tag}]", ["retention", "--model", "{model}", "--adapter",
                                                     "{root}/adapters/ok", "--tasks", "local_mmlu", "--no-progress",
                                                     "--data-dir", "{root}/benchmarks/" + tag, "--out", "{root}/out/r"],
                          f"{tag}/mmlu/test.jsonl:2"))

    for tag, out, shown in [("own-train-file", "{root}/mycorpus", "train.jsonl"), ("file", "{in}/good.txt", "good.txt"),
                            ("dot-in-user-folder", "{root}/mycorpus/train.jsonl", "train.jsonl")]:
        cases.append(Case(f"data-demo-out[{tag}]", ["data", "demo", "--out", out], shown))
    for tag, out, shown in [("user-folder", "{root}/notes", "notes"), ("file", "{in}/good.txt", "good.txt"),
                            ("dot", ".", ".")]:
        cases.append(Case(f"demo-out[{tag}]", ["demo", "--quick", "--no-progress", "--out", out], shown))

    cases.append(Case("generate-out[model-config]", ["generate", "--model", "{model}", "--input", "{in}/good.jsonl",
                                                     "--format", "xml", "--out", "{model}/config.json"], "config.json"))
    cases.append(Case("generate-out[in-adapter]", ["generate", "--model", "{model}", "--adapter", "{root}/adapters/ok",
                                                   "--input", "{in}/good.jsonl", "--format", "xml", "--out",
                                                   "{root}/adapters/ok/preds.jsonl"], "preds.jsonl"))

    # reader options that do not fit the file
    for tag, args, shown in [
        ("reader-jsonl-on-conll", ["--reader", "jsonl", "{in}/good.txt"], "good.txt"),
        ("reader-genia-on-jsonl", ["--reader", "genia", "{in}/good.jsonl"], "good.jsonl"),
        ("reader-alpaca-on-jsonl", ["--reader", "alpaca:xml", "{in}/good.jsonl"], "good.jsonl"),
        ("reader-unknown", ["--reader", "nope", "{in}/good.jsonl"], "--reader"),
        ("tag-column-missing", ["--tag-column", "5", "{in}/good.txt"], "good.txt"),
        ("scheme-strict", ["--scheme", "iobes", "{in}/good.txt"], "good.txt"),
        ("scheme-unknown", ["--scheme", "nope", "{in}/good.txt"], "nope"),
        ("split-not-genia", ["--split", "test", "{in}/good.jsonl"], "--split"),
        ("split-without-lists", ["--split", "test", "{in}/genia_small.xml"], "test.txt"),
    ]:
        cases.append(Case(f"data-stats-options[{tag}]", ["data", "stats", *args], shown))
        cases.append(Case(f"data-convert-options[{tag}]", ["data", "convert", *args, "{root}/out/c.jsonl"], shown))
    long_name = "n" * 300 + ".jsonl"
    cases += [
        Case("data-stats[name-too-long]", ["data", "stats", "{in}/" + long_name], long_name[:50]),
        Case("data-convert-out[name-too-long]", ["data", "convert", "{in}/good.jsonl", "{root}/out/" + long_name],
             long_name[:50]),
        Case("data-convert-out[to-unknown]", ["data", "convert", "{in}/good.jsonl", "{root}/out/c.x", "--to", "x"],
             "--to"),
        Case("data-convert-out[nested-to-conll]", ["data", "convert", "{in}/nested.jsonl", "{root}/out/c.txt"],
             "nested"),
        Case("formats-labels[directory]", ["formats", "convert", "{in}/good.jsonl", "--format", "xml", "--labels",
                                           "{in}/a_directory.jsonl", "--out", "{root}/out"], "a_directory.jsonl"),
        Case("formats-labels[outside-set]", ["formats", "convert", "{in}/good.jsonl", "--format", "xml", "--labels",
                                             "{in}/labels_other.json", "--out", "{root}/out"], "ORG"),
        Case("train-labels[directory]", ["train", "--model", "{model}", "--train", "{in}/good.jsonl", "--labels",
                                         "{in}/a_directory.jsonl", "--out", "{root}/out/a"], "a_directory.jsonl"),
        Case("generate-cache-dir[file]", ["generate", "--model", "{model}", "--input", "{in}/good.jsonl", "--format",
                                          "xml", "--cache-dir", "{in}/good.txt", "--out", "{root}/out/p.jsonl"],
             "good.txt"),
        Case("memorization-cache-dir[file]", ["memorization", "--model", "lookup", "--no-progress", "--cache-dir",
                                              "{in}/good.txt", "--out", "{root}/out/run"], "good.txt"),
        Case("generate-out[name-too-long]", ["generate", "--model", "{model}", "--input", "{in}/good.jsonl",
                                             "--format", "xml", "--out", "{root}/out/" + long_name], long_name[:50]),
    ]

    # report over run folders that are not runs, or runs with broken files
    for name in list(BAD_CORPORA)[:8] + ["a_directory.jsonl", "missing.jsonl"]:
        cases.append(Case(f"report-input[{name}]", ["report", "{in}/" + name, "--out", "{root}/out/report"],
                          name.replace("\n", "\\n")))
    for tag, fname, data in [
        ("manifest-deep", "manifest.json", b'{"a": ' * DEEP + b"1" + b"}" * DEEP),
        ("manifest-latin1", "manifest.json", '{"kind": "memorization", "x": "Caf\xe9"}'.encode("latin-1")),
        ("manifest-array", "manifest.json", b"[]"),
        ("manifest-truncated", "manifest.json", b'{"kind": "memor'),
        ("scores-string", "scores.json", b'"scores"'),
        ("scores-wrong-shape", "scores.json", b'{"lookup": "not a dict"}'),
        ("stats-deep", "stats.json", b"[" * DEEP + b"]" * DEEP),
        ("stats-list", "stats.json", b"[1, 2]"),
        ("stats-comparisons-string", "stats.json", b'{"comparisons": "x", "summary": {}}'),
        ("generations-latin1", "generations/lookup/coverage.jsonl", b'{"output": "Caf\xe9"}\n'),
    ]:
        cases.append(Case(f"report-run[{tag}]", ["report", "{root}/bad_runs/" + tag, "--out", "{root}/out/report"],
                          tag, extra={"run_file": (tag, fname, data)}))
    return cases


CASES = _cases()


def _fill(s: str, ws: Workspace) -> str:
    return (s.replace("{in}", str(ws.inputs)).replace("{root}", str(ws.root)).replace("{model}", str(ws.model))
            .replace("{runs}", str(ws.run.parent)))


def _bad_run(ws: Workspace, tag: str, fname: str, data: bytes) -> None:
    """A copy of the good run with one file replaced (made once, before the snapshot)."""
    import shutil

    d = ws.root / "bad_runs" / tag
    if not d.exists():
        shutil.copytree(ws.run, d)
        (d / fname).parent.mkdir(parents=True, exist_ok=True)
        (d / fname).write_bytes(data)


@pytest.mark.parametrize("case", CASES, ids=[c.id.replace("\n", "\\n") for c in CASES])
def test_bad_input_gives_one_line_error_and_changes_nothing(case: Case, ws: Workspace, monkeypatch):
    if "run_file" in case.extra:
        _bad_run(ws, *case.extra["run_file"])
    monkeypatch.chdir(_fill(case.cwd, ws))
    before = _snapshot(ws.root)
    result = CliRunner().invoke(app, [_fill(a, ws) for a in case.args])
    after = _snapshot(ws.root)

    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], err[-2000:], result.exception)
    assert "Traceback" not in err and "Traceback" not in result.stdout
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("error: ") and case.names in lines[0], lines[0][:500]
    assert len(lines[0]) < 1200, f"error line of {len(lines[0])} characters"
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, f"files changed or written: {changed[:10]}"


def test_case_count():
    """The suite covers every category of issue 11 and every file-reading command."""
    commands = {c.args[0] if c.args[0] not in ("data", "formats") else " ".join(c.args[:2]) for c in CASES}
    assert commands == {"data stats", "data convert", "data demo", "formats convert", "score", "generate", "train",
                        "memorization", "retention", "report", "demo"}
    assert len(CASES) >= 700
