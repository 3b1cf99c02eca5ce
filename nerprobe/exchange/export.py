"""Export probe sets for generation in another engine (LLaMA-Factory, vLLM, anything that reads JSONL).

``export_probe_sets`` writes into one folder::

    <set>.json               LLaMA-Factory alpaca data: id, instruction, input, output (the gold target) [, system]
    dataset_info.json        LLaMA-Factory's dataset registry: one entry per set, named by the set
    <set>.prompts.jsonl      one line per item: id, set, prompt (instruction + "\\n" + input), messages
                             [, text: the prompt through the chat template] [, max_new_tokens]
    manifest.json            probe seeds, label sets, format, template, system prompt, the decoding to use

The prompts are exactly those of a direct run (``Request.build`` through ``probe_requests``), so outputs made from
them pair back by id (JSONL) or by prompt text (LLaMA-Factory's ``generated_predictions.jsonl``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Mapping

from nerprobe.errors import NerprobeError
from nerprobe.exchange.requests import probe_requests, set_labelset
from nerprobe.formats.labels import LabelSet

EXPORT_KIND = "probe-export"
MANIFEST = "manifest.json"
DEFAULT_DECODING = {"greedy": True, "do_sample": False, "temperature": 0.0, "num_beams": 1}


def alpaca_name(set_name: str) -> str:
    """File name of a set's alpaca JSON in an export folder."""
    return f"{set_name}.json"


def prompts_name(set_name: str) -> str:
    """File name of a set's prompt JSONL in an export folder."""
    return f"{set_name}.prompts.jsonl"


def _labelset_json(ls: LabelSet) -> dict:
    return {"names": list(ls.names), "definitions": dict(ls.definitions), "long_names": dict(ls.long_names)}


def _check_out_dir(out_dir: Path) -> None:
    """A new or empty folder, or an earlier export (its manifest says so); anything else is refused."""
    from nerprobe.safe_io import check_output_dir

    check_output_dir(out_dir, what="export folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        try:
            kind = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != EXPORT_KIND:
            raise NerprobeError(f"{out_dir}: not empty and not a probe export; choose a new folder")


def _dataset_entry(file_name: str, with_system: bool) -> dict:
    from nerprobe.formats.alpaca import dataset_info_entry

    entry = dataset_info_entry(file_name)
    if with_system:
        entry["columns"]["system"] = "system"
    return entry


def export_probe_sets(sets: Mapping[str, object], *, format_name: str, labelset: LabelSet, out_dir,
                      prompting_manifest: dict | None = None, decoding: dict | None = None, template=None,
                      system: str | None = None, tokenizer=None, budget: Callable | None = None,
                      command: str | None = None) -> Path:
    """Write ``sets`` (name → ``ProbeSet``) for generation elsewhere into ``out_dir``; returns the manifest's path.

    ``labelset`` is the run's label set (a relabeled set uses its own, ``set_labelset``); ``prompting_manifest``
    is ``Prompting.manifest()`` of the run; ``decoding`` adds to the greedy settings recorded (e.g.
    ``{"max_new_tokens": 256, "stop": [...]}``); ``template`` (a ``nerprobe.templates.ChatTemplate``) adds each
    prompt's templated ``text`` (with ``system``; ``tokenizer`` gives its special tokens); ``budget(request)``, when
    given, adds each item's ``max_new_tokens``. A folder that holds anything but an earlier export is refused
    (``NerprobeError``) before anything is written; an item its format cannot render raises ``NerprobeError``.
    """
    from nerprobe.formats.prompts import sft_record
    from nerprobe.provenance import write_manifest
    from nerprobe.safe_io import atomic_write_text
    from nerprobe.templates import messages_for

    out = Path(out_dir).expanduser()
    _check_out_dir(out)
    staged: dict[str, tuple[str, str]] = {}
    info: dict[str, dict] = {}
    listed: list[dict] = []
    for name, ps in sets.items():
        ls = set_labelset(ps, labelset)
        requests = probe_requests(ps, format_name, labelset)
        records, lines = [], []
        for item, req in zip(ps.items, requests):
            try:
                gold = sft_record(item.sentence, format_name, ls)["output"]
            except ValueError as err:
                raise NerprobeError(f"probe set {name}, item {item.id}: {err}") from None
            rec = {"id": item.id, "instruction": req.instruction, "input": req.input, "output": gold}
            if system is not None:
                rec["system"] = system
            records.append(rec)
            messages = messages_for(req.prompt, system)
            line = {"id": item.id, "set": name, "prompt": req.prompt, "messages": messages}
            if template is not None:
                line["text"] = template.render(messages, tokenizer=tokenizer)
            if budget is not None:
                line["max_new_tokens"] = int(budget(req))
            lines.append(json.dumps(line, ensure_ascii=False))
        prompts_text = "".join(x + "\n" for x in lines)
        staged[name] = (json.dumps(records, indent=2, ensure_ascii=False) + "\n", prompts_text)
        info[name] = _dataset_entry(alpaca_name(name), system is not None)
        listed.append({"name": name, "seed": ps.seed, "n_items": len(ps.items), "labels": _labelset_json(ls),
                       "alpaca": alpaca_name(name), "prompts": prompts_name(name),
                       "prompts_sha256": "sha256:" + hashlib.sha256(prompts_text.encode("utf-8")).hexdigest(),
                       "problems": list(ps.problems)})
    out.mkdir(parents=True, exist_ok=True)
    for name, (alpaca_text, prompts_text) in staged.items():
        atomic_write_text(out / alpaca_name(name), alpaca_text)
        atomic_write_text(out / prompts_name(name), prompts_text)
    atomic_write_text(out / "dataset_info.json", json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    manifest = {
        "kind": EXPORT_KIND,
        "format": format_name,
        "labelset": _labelset_json(labelset),
        "prompting": prompting_manifest or {},
        "template": template.manifest() if template is not None else {"name": "model"},
        "system": system,
        "decoding": {**DEFAULT_DECODING, **(decoding or {})},
        "sets": listed,
        "pairing": "JSONL outputs pair by id; LLaMA-Factory generated_predictions.jsonl by prompt text. Put the "
                   "outputs of set S in S.jsonl or S/generated_predictions.jsonl of one folder.",
    }
    write_manifest(out / MANIFEST, manifest, command=command)
    return out / MANIFEST
