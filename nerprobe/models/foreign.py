"""How an adapter trained elsewhere (a PEFT folder without nerprobe's manifest) was prompted, from what lies beside it.

LLaMA-Factory writes its training arguments into the output folder as ``training_args.yaml`` (``template``,
``dataset``, ``dataset_dir``) and names each dataset's file in ``dataset_info.json`` (in ``dataset_dir``). When they
can be found, the training data tells the output format (from the file name, as the LLMs4NER files name it, else from
the outputs: ``formats.alpaca.infer_format``) and the label set (the labels of its gold outputs), and the arguments
tell the chat template. Each value says where it came from (``ForeignPrompting.sources``), for the one warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

#: LLaMA-Factory's names (``llamafactory.extras.constants``: TRAINING_ARGS, DATA_CONFIG).
TRAINING_ARGS = "training_args.yaml"
DATA_CONFIG = "dataset_info.json"


@dataclass(frozen=True)
class ForeignPrompting:
    """What could be inferred for a foreign adapter: format, label names, template (each None when unknown), and
    ``sources`` ``{"format"|"labels"|"template": where it came from}``."""

    format_name: str | None = None
    labels: tuple[str, ...] | None = None
    template: str | None = None
    sources: dict = field(default_factory=dict)


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_json_object(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _first_file(name: str, folders) -> Path | None:
    return next((d / name for d in folders if (d / name).is_file()), None)


def _data_files(adapter: Path, args: dict) -> list[tuple[str, Path]]:
    """``(dataset name, file)`` of the adapter's training data: the ``dataset`` names of ``training_args.yaml``
    looked up in ``dataset_info.json`` (in ``dataset_dir``, or beside the adapter); without training arguments, the
    one dataset of a ``dataset_info.json`` beside the adapter."""
    here = [adapter, adapter.parent]
    dataset_dir = args.get("dataset_dir") if isinstance(args.get("dataset_dir"), str) else None
    folders = ([Path(dataset_dir)] if dataset_dir and Path(dataset_dir).is_absolute() else
               [d / dataset_dir for d in here] if dataset_dir else []) + here
    info_path = _first_file(DATA_CONFIG, folders)
    if info_path is None:
        return []
    info = _read_json_object(info_path)
    names = args.get("dataset")
    if isinstance(names, str):
        wanted = [n.strip() for n in names.split(",") if n.strip()]
    elif isinstance(names, list):
        wanted = [n for n in names if isinstance(n, str)]
    else:
        wanted = list(info) if len(info) == 1 else []
    out = []
    for name in wanted:
        entry = info.get(name)
        if isinstance(entry, dict) and isinstance(entry.get("file_name"), str):
            out.append((name, info_path.parent / entry["file_name"]))
    return out


def infer_foreign(adapter: str | Path) -> ForeignPrompting:
    """What lies beside a foreign ``adapter`` says about its prompts (see the module docstring); never raises on
    what it reads (a file it cannot use is passed over)."""
    from nerprobe.errors import NerprobeError
    from nerprobe.formats.alpaca import infer_format, read_alpaca
    from nerprobe.templates import BUILTIN_TEMPLATES

    adapter = Path(adapter).expanduser()
    args_path = _first_file(TRAINING_ARGS, [adapter, adapter.parent])
    args = _read_yaml(args_path) if args_path else {}
    fmt = labels = template = None
    sources: dict[str, str] = {}
    if isinstance(args.get("template"), str) and args["template"] in BUILTIN_TEMPLATES:
        template, sources["template"] = args["template"], str(args_path)
    for name, path in _data_files(adapter, args):
        if path.is_file():
            try:
                corpus = read_alpaca(path, lenient=True)
            except (NerprobeError, OSError, ValueError):
                corpus = None
            if corpus is not None and len(corpus):
                fmt = fmt or corpus.sentences[0].meta.get("format")
                sources.setdefault("format", str(path))
                names = sorted({e.label for s in corpus for e in s.entities})
                if names and labels is None:
                    labels, sources["labels"] = tuple(names), str(path)
                continue
        guessed = infer_format(path.name)  # the data is not here: its file name may still name the format
        if guessed and fmt is None:
            fmt, sources["format"] = guessed, f"{path.name} (dataset {name})"
    return ForeignPrompting(fmt, labels, template, sources)
