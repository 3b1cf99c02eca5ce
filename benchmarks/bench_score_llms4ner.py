"""`probe score` on a LLaMA-Factory generated_predictions.jsonl against the LLMs4NER evaluation script, side by side.

The predictions file is made from the LLMs4NER CoNLL-2003 bracketed test file (prompt = instruction + newline +
input in a chat template; predict = label = output) in a temporary folder. Timed in one run, medians of --repeats:

- in process: nerprobe reading the gold CoNLL file, reading and pairing the predictions (finding each sentence in its
  prompt), parsing and scoring, against the LLMs4NER script's ``main()`` (reading, parsing, scoring, writing its
  results.json) imported from --llms4ner-script; then the 10,000-resample bootstrap CI nerprobe adds on top;
- whole process: ``python -m nerprobe score --json`` against ``python eval_bracketed_ner.py``;
- ``read_conll`` on CoNLL-2003 train against a plain tag reader (written below: split lines, keep token and tag);
- locating the sentence in its prompt (``find_input``) as the prompt grows, to show it is linear in prompt length.

The LLMs4NER script is public (szu-tera/LLMs4NER, evaluation/eval_bracketed_ner.py) but not part of nerprobe: pass
the path to a copy; without it those anchors are skipped with a note.

    python benchmarks/bench_score_llms4ner.py --llms4ner-script /tmp/eval_bracketed_ner.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHAT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
        "<|im_start|>assistant\n")


#: CPU seconds (this process and its children) of each figure timed by median_time, by the figure's wall median:
#: on a shared machine the CPU time says what the code costs, the wall time what the user waits.
CPU: dict[float, float] = {}


def _cpu_now() -> float:
    """CPU seconds of this process (``process_time``) and of its finished children (``getrusage``: to the
    microsecond, where ``os.times`` counts 10 ms ticks, too coarse for the script's 0.1 s process)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ru.ru_utime + ru.ru_stime


def median_time(fn, repeats: int) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls (after one warm-up call); the median CPU seconds
    (this process and its children) are kept in ``CPU`` under the returned value."""
    fn()
    times, cpus = [], []
    for _ in range(repeats):
        c = _cpu_now()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpus.append(_cpu_now() - c)
    wall = statistics.median(times)
    CPU[wall] = statistics.median(cpus)
    return wall


def plain_tag_reader(path: Path) -> list[tuple[list[str], list[str]]]:
    """The anchor for read_conll: (tokens, tags) per sentence, nothing else (no checks, no offsets, no entities)."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if not cols:
                if words:
                    sentences.append((words, tags))
                    words, tags = [], []
                continue
            if cols[0] == "-DOCSTART-":
                continue
            words.append(cols[0])
            tags.append(cols[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def make_predictions(alpaca: Path, out: Path) -> None:
    """A generated_predictions.jsonl whose every prediction is the reference output."""
    with out.open("w", encoding="utf-8") as f:
        for r in json.loads(alpaca.read_text(encoding="utf-8")):
            prompt = CHAT.format(r["instruction"] + "\n" + r["input"])
            f.write(json.dumps({"prompt": prompt, "predict": r["output"], "label": r["output"]}, ensure_ascii=False)
                    + "\n")


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location("llms4ner_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script_main(module, pred: Path, out_dir: Path) -> None:
    argv = sys.argv
    sys.argv = ["eval_bracketed_ner.py", "--file", str(pred), "--preset", "conll2003", "--output_dir", str(out_dir)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            module.main()
    finally:
        sys.argv = argv


def process_time(cmd: list[str], repeats: int, cwd: Path) -> float:
    """Median wall seconds of running ``cmd`` in ``cwd`` with ``PYTHONPATH`` naming the tree of the ``nerprobe``
    imported here, so that the process runs the code the in-process figures ran (``python -m`` puts the working
    directory first on ``sys.path``: run from a repository root with ``PYTHONPATH`` naming another copy, it would
    import the root's)."""
    import nerprobe

    env = {**os.environ, "PYTHONPATH": str(Path(nerprobe.__file__).resolve().parents[1])}

    def run():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    return median_time(run, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--llms4ner-script", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    from nerprobe.analysis.pairing import find_input, pair_predictions
    from nerprobe.analysis.score_files import strict_stats
    from nerprobe.analysis.significance import bootstrap_ci
    from nerprobe.analysis.spans import prf
    from nerprobe.data.conll import read_conll
    from nerprobe.data.io import read_corpus

    gold_path = args.data / "conll2003" / "test.txt"
    train_path = args.data / "conll2003" / "train.txt"
    script = args.llms4ner_script if args.llms4ner_script and args.llms4ner_script.is_file() else None
    load_before = os.getloadavg()[0]
    print(f"load average {load_before:.2f} (1 min) on {os.cpu_count()} CPUs; medians of {args.repeats}")
    rows: list[tuple[str, float, str, float | None]] = []

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pred = tmp / "generated_predictions.jsonl"
        make_predictions(args.data / "llms4ner" / "data" / "conll03_bracketed_test_alpaca.json", pred)

        def nerprobe_in_process():
            gold = read_corpus(gold_path)
            paired = pair_predictions(gold.sentences, pred)
            stats, labels, _ = strict_stats(paired)
            return stats, prf(stats, labels)

        stats, scores = nerprobe_in_process()
        assert scores["micro"]["f1"] == 1.0, scores["micro"]
        ours = median_time(nerprobe_in_process, args.repeats)
        from nerprobe.analysis import significance

        def cold_ci():  # probe score draws one CI per process and keeps no count matrices (as score_paired)
            significance._COUNTS_CACHE.clear()
            with significance.counts_not_kept():
                return bootstrap_ci(stats, "micro-f1", n_resamples=10000, seed=0)

        ci = median_time(cold_ci, args.repeats)
        whole = process_time([sys.executable, "-m", "nerprobe", "score", "--gold", str(gold_path), "--pred",
                              str(pred), "--json"], max(3, args.repeats // 2), tmp)
        if script:
            module = load_script(script)
            theirs = median_time(lambda: run_script_main(module, pred, tmp / "out"), args.repeats)
            their_whole = process_time([sys.executable, str(script), "--file", str(pred), "--preset", "conll2003",
                                        "--output_dir", str(tmp / "out")], max(3, args.repeats // 2), tmp)
            rows += [("score in process: read + pair + parse + score", ours, "LLMs4NER script main()", theirs),
                     ("  + bootstrap CI, 10,000 resamples", ours + ci, "LLMs4NER script main()", theirs),
                     ("score, whole process (probe score --json)", whole, "LLMs4NER script process", their_whole)]
        else:
            print("note: no --llms4ner-script given (or not found): the LLMs4NER anchors are skipped")
            rows += [("score in process: read + pair + parse + score", ours, "", None),
                     ("score, whole process (probe score --json)", whole, "", None)]
        rows.append(("bootstrap CI alone, 10,000 resamples", ci, "", None))

        # reading
        plain = median_time(lambda: plain_tag_reader(train_path), args.repeats)
        reader = median_time(lambda: read_conll(train_path), args.repeats)
        rows.append(("read_conll, CoNLL-2003 train", reader, "plain tag reader", plain))

        # sentence location: the sentence sought absent (the whole prompt is searched), prompts 1x .. 16x long
        records = [json.loads(line) for line in pred.read_text(encoding="utf-8").splitlines()[:500]]
        sentences = read_corpus(gold_path).sentences[:500]
        base = None
        for factor in (1, 4, 16):
            prompts = [r["prompt"] * factor for r in records]
            t = median_time(lambda: [find_input(s.text + " zz", p) for s, p in zip(sentences, prompts)], 3)
            base = base or t
            rows.append((f"find_input, 500 prompts x{factor} long, not found", t, "same at x1", base))
        found = median_time(lambda: [find_input(s.text, r["prompt"]) for s, r in zip(sentences, records)], 3)
        rows.append(("find_input, 500 real prompts, found", found, "", None))

    load_after = os.getloadavg()[0]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'figure':<{width}}{'seconds':>10}  {'anchor':<28}{'seconds':>10}{'ratio':>8}{'cpu ratio':>11}")
    for name, sec, anchor, anchor_sec in rows:
        ratio = f"{sec / anchor_sec:.2f}" if anchor_sec else ""
        a = f"{anchor_sec:.4f}" if anchor_sec else ""
        ours_cpu, their_cpu = CPU.get(sec), CPU.get(anchor_sec) if anchor_sec else None
        if name.startswith("  + bootstrap"):
            ours_cpu = (CPU.get(rows[0][1]) or 0) + (CPU.get(ci) or 0)
        cpu_ratio = f"{ours_cpu / their_cpu:.2f}" if ours_cpu and their_cpu else ""
        print(f"{name:<{width}}{sec:>10.4f}  {anchor:<28}{a:>10}{ratio:>8}{cpu_ratio:>11}")
    flag = "" if max(load_before, load_after) < 1.5 else "  (UNDER LOAD: figures slower than on an idle machine)"
    print(f"load average before {load_before:.2f}, after {load_after:.2f}{flag}")


if __name__ == "__main__":
    main()
