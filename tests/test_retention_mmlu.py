"""``local_mmlu`` prompts as lm-eval's own ``mmlu`` does (issue 12 §3): for every question, the few-shot examples are
the first n dev items of its own subject. Checked against lm-eval's installed ``mmlu_<subject>`` task configs
(``lm_eval/tasks/mmlu/default``), pointed at the same local files, prompt for prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

SUBJECTS = ("abstract_algebra", "high_school_psychology", "world_religions")


@pytest.fixture(scope="module")
def ours(tmp_path_factory, data_dir):
    from lm_eval.tasks import TaskManager, get_task_dict

    from nerprobe.retention import suite

    root = tmp_path_factory.mktemp("mmlu")
    task_dir = suite.write_task_dir(["local_mmlu"], root / "tasks", data_dir, root / "data")
    return get_task_dict(["local_mmlu"], TaskManager(include_path=str(task_dir), include_defaults=False))["local_mmlu"]


def lm_eval_subject_task(subject: str, data_dir: Path, tmp: Path):
    """lm-eval's own ``mmlu_<subject>`` task, its dataset swapped for that subject's lines of the local files."""
    import lm_eval
    from lm_eval.api.task import ConfigurableTask

    default = Path(lm_eval.__file__).parent / "tasks" / "mmlu" / "default"
    cfg = yaml.safe_load((default / "_default_template_yaml").read_text())
    cfg.update(yaml.safe_load((default / f"mmlu_{subject}.yaml").read_text()))
    files = {}
    for split in ("test", "dev"):
        rows = [x for x in (data_dir / "mmlu" / f"{split}.jsonl").read_text().split("\n")
                if x.strip() and json.loads(x)["subject"] == subject]
        files[split] = tmp / f"{subject}.{split}.jsonl"
        files[split].write_text("\n".join(rows) + "\n")
    for key in ("include", "tag", "dataset_name"):
        cfg.pop(key, None)
    cfg.update(dataset_path="json", dataset_kwargs={"data_files": {k: str(v) for k, v in files.items()}})
    return ConfigurableTask(config=cfg)


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("shots", [0, 1, 5])
def test_prompts_equal_lm_evals_mmlu_subject_task(ours, subject, shots, data_dir, tmp_path):
    theirs = lm_eval_subject_task(subject, data_dir, tmp_path)
    their_docs = list(theirs.test_docs())
    our_docs = [d for d in ours.test_docs() if d["subject"] == subject]
    assert len(our_docs) == len(their_docs) > 0
    for k in (0, len(our_docs) // 2, len(our_docs) - 1):
        assert our_docs[k]["question"] == their_docs[k]["question"]
        assert ours.fewshot_context(our_docs[k], shots) == theirs.fewshot_context(their_docs[k], shots)


def test_few_shot_examples_come_from_the_questions_own_subject(ours, data_dir):
    dev = [json.loads(x) for x in (data_dir / "mmlu" / "dev.jsonl").read_text().split("\n") if x.strip()]
    docs = list(ours.test_docs())
    seen = set()
    for doc in docs[:: len(docs) // 40]:
        ctx = ours.fewshot_context(doc, 5)
        own = [d["question"].strip() for d in dev if d["subject"] == doc["subject"]][:5]
        assert all(q in ctx for q in own)
        assert ctx.index(own[0]) < ctx.index(own[4]) < ctx.rindex(doc["question"].strip())  # first five, in order
        others = [d["question"].strip() for d in dev if d["subject"] != doc["subject"]]
        assert not any(len(q) > 40 and q in ctx for q in others)
        seen.add(doc["subject"])
    assert len(seen) > 20
