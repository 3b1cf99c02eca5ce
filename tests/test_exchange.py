"""Export probe sets, generate elsewhere (here: `probe generate --requests ... --out-style llamafactory`), import the
outputs: they pair back with the items and equal a direct generation on the same requests."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.data.demo import make_demo_corpus
from nerprobe.errors import InputError, NerprobeError
from nerprobe.exchange import ImportedPredictor, export_probe_sets, import_predictor, probe_requests, read_predictions
from nerprobe.models.tiny import demo_labelset
from nerprobe.probes.coverage import build_coverage
from nerprobe.probes.swapped_labels import build_relabeled

runner = CliRunner()
FMT, BUDGET = "xml", 6


@pytest.fixture(scope="module")
def sets():
    demo = make_demo_corpus(seed=0)
    test = list(demo.test)[:5]
    ls = demo_labelset()
    return {"coverage": build_coverage(demo.train, test, seed=0),
            "swapped-labels-permuted": build_relabeled(test, ls, "permuted", 0)}, ls


@pytest.fixture(scope="module")
def exported(tmp_path_factory, sets):
    root = tmp_path_factory.mktemp("exchange")
    probe_sets, ls = sets
    manifest = export_probe_sets(probe_sets, format_name=FMT, labelset=ls, out_dir=root / "export",
                                 decoding={"max_new_tokens": BUDGET}, prompting_manifest={"format": FMT})
    return root, manifest


def test_export_writes_llamafactory_data_prompts_and_manifest(exported, sets):
    root, manifest_path = exported
    probe_sets, ls = sets
    out = root / "export"
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["coverage"] == {"file_name": "coverage.json", "formatting": "alpaca",
                                "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
    for name, ps in probe_sets.items():
        records = json.loads((out / f"{name}.json").read_text())
        requests = probe_requests(ps, FMT, ls)
        assert [r["instruction"] + "\n" + r["input"] for r in records] == [q.prompt for q in requests]
        assert [r["id"] for r in records] == [it.id for it in ps.items]
        lines = [json.loads(x) for x in (out / f"{name}.prompts.jsonl").read_text().splitlines()]
        assert [x["prompt"] for x in lines] == [q.prompt for q in requests]
        assert lines[0]["messages"] == [{"role": "user", "content": requests[0].prompt}]
    # the relabeled set is prompted with its own label names
    assert json.loads((out / "swapped-labels-permuted.json").read_text())[0]["instruction"] != \
        json.loads((out / "coverage.json").read_text())[0]["instruction"]
    manifest = json.loads(manifest_path.read_text())
    assert manifest["kind"] == "probe-export" and manifest["format"] == FMT
    assert manifest["decoding"]["greedy"] is True and manifest["decoding"]["max_new_tokens"] == BUDGET
    assert {s["name"]: s["seed"] for s in manifest["sets"]} == {"coverage": 0, "swapped-labels-permuted": 0}


def test_export_refuses_a_folder_that_is_not_an_export(tmp_path, sets):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(NerprobeError, match="not empty and not a probe export"):
        export_probe_sets(sets[0], format_name=FMT, labelset=sets[1], out_dir=tmp_path / "x")


def test_round_trip_llamafactory_shape_equals_direct_generation(exported, sets, tmp_path):
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.registry import resolve

    root, _ = exported
    probe_sets, ls = sets
    model = make_random_tiny_model(root / "tiny")
    preds = tmp_path / "preds"
    for name in probe_sets:
        alpaca = root / "export" / f"{name}.json"
        res = runner.invoke(app, ["generate", "--model", str(model), "--requests", str(alpaca), "--format", FMT,
                                  "--max-new-tokens", str(BUDGET), "--out-style", "llamafactory", "--out", str(preds / name / "generated_predictions.jsonl"),
                                  "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
        assert res.exit_code == 0, res.output
    line = json.loads((preds / "coverage" / "generated_predictions.jsonl").read_text().splitlines()[0])
    assert set(line) == {"prompt", "predict", "label"} and line["prompt"].startswith("<|im_start|>user\n")
    imported = read_predictions(preds, probe_sets, format_name=FMT, labelset=ls)
    direct = HFPredictor(load_model(resolve(str(model))), max_new_tokens=BUDGET)
    for name, ps in probe_sets.items():
        assert imported[name] == direct.predict(probe_requests(ps, FMT, ls), progress=False)
    # the same through the Predictor interface, as the run will use it
    predictor = import_predictor(preds, probe_sets, format_name=FMT, labelset=ls)
    assert isinstance(predictor, ImportedPredictor) and predictor.fingerprint.startswith("imported:")
    for name, ps in probe_sets.items():
        reqs = probe_requests(ps, FMT, ls)
        assert predictor.for_set(name).predict(reqs) == imported[name]
        assert predictor.predict(reqs) == imported[name]


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_id_output_jsonl_pairs_by_id_in_any_order(sets, tmp_path):
    probe_sets, ls = sets
    for name, ps in probe_sets.items():
        _write(tmp_path / f"{name}.jsonl", [{"id": it.id, "output": f"out {it.id}"} for it in reversed(ps.items)])
    got = read_predictions(tmp_path, probe_sets, format_name=FMT, labelset=ls)
    assert got["coverage"] == [f"out {it.id}" for it in probe_sets["coverage"].items]


def test_incomplete_and_mismatched_sets_are_refused_in_one_line(sets, tmp_path):
    probe_sets, ls = sets
    cov = {"coverage": probe_sets["coverage"]}
    items = probe_sets["coverage"].items
    _write(tmp_path / "a" / "coverage.jsonl", [{"id": it.id, "output": "x"} for it in items[1:]])
    with pytest.raises(InputError) as err:
        read_predictions(tmp_path / "a", cov, format_name=FMT, labelset=ls)
    assert f"1 of {len(items)} items of probe set coverage have no output (first: id {items[0].id!r}" in str(err.value)
    assert "\n" not in str(err.value) and err.value.field == "predictions"
    other = probe_requests(probe_sets["swapped-labels-permuted"], FMT, ls)
    _write(tmp_path / "b" / "coverage.jsonl", [{"prompt": r.prompt, "output": "x"} for r in other])
    with pytest.raises(InputError, match=r"records match no item of probe set coverage"):
        read_predictions(tmp_path / "b", cov, format_name=FMT, labelset=ls)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no outputs for probe set coverage \(expected coverage.jsonl"):
        read_predictions(tmp_path / "empty", cov, format_name=FMT, labelset=ls)
