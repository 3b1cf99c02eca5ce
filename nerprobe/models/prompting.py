"""What to prompt a model with: the output format and the label set, by default those its adapter was trained with.

An adapter trained by nerprobe records its format, its label set with definitions, and its instruction
(``nerprobe_adapter.json``, see ``nerprobe.models.training``). Prompted with another label set or instruction it
loses most of what it learned (the demo adapter: F1 35 with the definitions it was trained on, 0.6 with bare label
names), so ``probe generate`` and ``probe memorization`` prompt it as it was trained unless told otherwise, and say so
when told otherwise (``Prompting.warnings``). Without an adapter manifest the format defaults to ``default_format``
and the label set to the one the corpus labels match (``formats.labels.resolve_label_set``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from nerprobe.errors import InputError
from nerprobe.formats.labels import LabelSet, labelset_from_dict, resolve_label_set


@dataclass(frozen=True)
class Trained:
    """How an adapter was prompted in training, from its manifest.

    ``labelset`` has the corpus's label names; ``prompt_labelset`` the names the prompts used (the symbols A, B, ...
    of a symbolized adapter, else the same set); ``instruction`` is None for adapters trained before manifests
    recorded it; ``data_sha256`` is the training sentences' ``provenance.sentences_sha256``."""

    adapter: str
    format_name: str | None
    labelset: LabelSet | None
    prompt_labelset: LabelSet | None
    instruction: str | None = None
    symbol_map: dict = field(default_factory=dict)
    data_sha256: str | None = None
    template: str | None = None  # the chat template training used: a built-in name or a file (None: the model's)
    system: str | None = None  # the system prompt training used
    foreign: bool = False  # no nerprobe manifest: what is known was inferred (``models.foreign``), see ``inferred``
    inferred: dict = field(default_factory=dict)  # what -> where it was inferred from (foreign adapters)


def _legacy_labelsets(labels: dict) -> tuple[LabelSet | None, LabelSet | None]:
    """``(labelset, prompt_labelset)`` of a manifest written before it recorded definitions: the names, with the
    definitions (and long names) of the known set that holds them all when the prompts had definitions."""
    from nerprobe.formats.labels import LABEL_SETS

    names = [n for n in labels.get("names") or [] if isinstance(n, str)]
    if not names:
        return None, None
    ls = LabelSet(tuple(names))
    if labels.get("definitions_in_prompt", True):
        known = next((k for k in LABEL_SETS.values() if set(names) <= set(k.names)), None)
        if known is not None:
            ls = LabelSet(tuple(names), {n: known.definitions[n] for n in names if n in known.definitions},
                          {n: known.long_names[n] for n in names if n in known.long_names})
    mapping = labels.get("symbol_map") or {}
    if not mapping:
        return ls, ls
    defs = {mapping[n]: d for n, d in ls.definitions.items() if n in mapping} \
        if labels.get("definitions_in_prompt") else {}
    return ls, LabelSet(tuple(mapping[n] for n in names if n in mapping), defs)


def trained_prompting(adapter: str | Path | None) -> Trained | None:
    """What the nerprobe manifest of ``adapter`` records about its prompts; None without an adapter or a manifest."""
    if adapter is None:
        return None
    from nerprobe.models.loading import read_adapter_manifest

    path = Path(adapter).expanduser()
    manifest = read_adapter_manifest(path) if path.is_dir() else None
    if not manifest:
        return _foreign(adapter) if (path / "adapter_config.json").is_file() else None
    labels = manifest.get("labels") if isinstance(manifest.get("labels"), dict) else {}
    if isinstance(manifest.get("labelset"), dict):
        ls = labelset_from_dict(manifest["labelset"])
        prompt = labelset_from_dict(manifest.get("prompt_labelset") or manifest["labelset"])
    else:
        ls, prompt = _legacy_labelsets(labels)
    fmt = manifest.get("format") if isinstance(manifest.get("format"), str) else None
    instr = manifest.get("instruction") if isinstance(manifest.get("instruction"), str) else None
    data = manifest.get("data") if isinstance(manifest.get("data"), dict) else {}
    digest = data.get("sha256") if isinstance(data.get("sha256"), str) else None
    if digest and not digest.startswith("sha256:"):
        digest = "sha256:" + digest  # manifests written before provenance gave the bare hex of the same digest
    template = manifest.get("template")
    if isinstance(template, dict):  # nerprobe.templates.ChatTemplate.manifest(): a built-in by name, a file by path
        template = template.get("name") if template.get("source") in ("builtin", None) else template.get("source")
    template = template if isinstance(template, str) and template not in ("", "model") else None
    system = manifest.get("system") if isinstance(manifest.get("system"), str) else None
    return Trained(str(adapter), fmt, ls, prompt, instr, dict(labels.get("symbol_map") or {}), digest, template,
                   system)


def _foreign(adapter) -> Trained:
    """``Trained`` of a PEFT adapter without nerprobe's manifest, from what lies beside it (``models.foreign``)."""
    from nerprobe.formats.labels import label_set_for
    from nerprobe.models.foreign import infer_foreign

    found = infer_foreign(adapter)
    ls = label_set_for(found.labels) if found.labels else None
    return Trained(str(adapter), found.format_name, ls, ls, template=found.template, foreign=True,
                   inferred=dict(found.sources))


def foreign_adapter_warning(adapter: str | Path | None) -> str | None:
    """The one warning for a PEFT adapter without nerprobe's manifest (trained elsewhere, e.g. with LLaMA-Factory):
    what was inferred from the files beside it (``models.foreign``) and from where, and what the defaults are for the
    rest. None for no adapter, a nerprobe adapter, or a folder that is not an adapter (``loading.check_spec``
    reports that)."""
    if adapter is None:
        return None
    from nerprobe.models.loading import read_adapter_manifest

    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file() or read_adapter_manifest(path):
        return None
    t = _foreign(adapter)
    known = [f"format {t.format_name} from {t.inferred['format']}"] if t.format_name else []
    if t.labelset is not None:
        known.append(f"labels {','.join(t.labelset.names)} from {t.inferred['labels']}")
    if t.template:
        known.append(f"template {t.template} from {t.inferred['template']}")
    said = "; ".join(known) if known else "nothing beside it says how it was prompted"
    return (f"{adapter} has no nerprobe manifest (trained elsewhere?): {said}; otherwise the corpus's labels, the "
            "model's own chat template and nerprobe's instruction, unless --format, --labels, --template and --system "
            "say how it was trained")


@dataclass(frozen=True)
class Prompting:
    """The format and label set to prompt with, where each came from (``"adapter"``, ``"given"``, ``"default"``),
    and what the user should know (a choice that differs from how the adapter was trained)."""

    format_name: str
    labelset: LabelSet
    sources: dict
    warnings: tuple[str, ...] = ()
    trained: Trained | None = None
    template: str | None = None  # ``--template``: a built-in name or a Jinja file; None: the model's own
    system: str | None = None

    def manifest(self) -> dict:
        """What a run manifest records about the prompts."""
        return {"format": self.format_name, "labels": list(self.labelset.names),
                "definitions": bool(self.labelset.definitions), "sources": dict(self.sources),
                "template": self.template or "model", "system": self.system, "warnings": list(self.warnings)}

    def chat_template(self, tokenizer=None):
        """The ``nerprobe.templates.ChatTemplate`` to prompt with (``resolve_template``; None: plain prompts)."""
        from nerprobe.templates import resolve_template

        return resolve_template(self.template, tokenizer)


def _describe(ls: LabelSet) -> str:
    return ", ".join(ls.names) + (" with definitions" if ls.definitions else " without definitions")


def choose_prompting(trained: Trained | None, *, format_name: str | None = None, labels: str | None = None,
                     corpus_labels: Iterable[str] = (), default_format: str = "xml",
                     default_labelset: LabelSet | None = None, original_names: bool = False,
                     template: str | None = None, system: str | None = None) -> Prompting:
    """The ``Prompting`` for a model whose adapter was ``trained`` (None: no nerprobe adapter manifest).

    ``format_name``/``labels`` are the user's choices (None: not given); ``labels`` is what
    ``formats.labels.resolve_label_set`` reads. ``original_names``: the run scores the outputs against the corpus
    labels (memorization), so a symbolized adapter is prompted with its label set's own names, with a warning.
    ``template``/``system``: the user's chat template and system prompt (None: those the adapter was trained with,
    else the model's own template and no system prompt); a choice that differs from training is warned about.
    Raises what ``resolve_label_set`` raises for a bad ``labels``.
    """
    warnings: list[str] = []
    sources = {"format": "given" if format_name else "default", "labels": "given" if labels else "default"}
    trained_fmt = trained.format_name if trained else None
    if trained is not None and trained.foreign:
        if format_name is None and trained_fmt is None:
            raise InputError(None, None, f"{trained.adapter} has no nerprobe manifest and nothing beside it (a "
                             "LLaMA-Factory training_args.yaml or dataset_info.json naming its data) says its output "
                             "format: pass --format (and --labels, --template if they differ from the defaults)",
                             field="format")
        if not (format_name and labels and template):
            warnings.append(foreign_adapter_warning(trained.adapter))
    if format_name is None:
        format_name = trained_fmt or default_format
        sources["format"] = "adapter" if trained_fmt else "default"
    elif trained_fmt and trained_fmt != format_name:
        warnings.append(f"format: the adapter {trained.adapter} was trained on the {trained_fmt!r} format, not "
                        f"{format_name!r}; its outputs will mostly fail to parse")
    trained_ls = None
    if trained and trained.prompt_labelset is not None:
        trained_ls = trained.labelset if original_names else trained.prompt_labelset
        if original_names and trained.symbol_map:
            warnings.append(f"labels: the adapter {trained.adapter} was trained with the labels renamed "
                            f"{', '.join(trained.prompt_labelset.names)}; prompting it with the corpus names "
                            f"{', '.join(trained.labelset.names)} instead")
    if labels is None and trained_ls is not None:
        labelset = trained_ls
        sources["labels"] = "adapter"
    else:
        labelset = resolve_label_set(labels, corpus_labels, default=default_labelset)
        if trained_ls is not None and labelset != trained_ls:
            warnings.append(f"labels: the adapter {trained.adapter} was trained with the label set "
                            f"{_describe(trained_ls)}, not {_describe(labelset)}; prompts that differ from training "
                            "cost the adapter most of its F1")
    if trained and trained.instruction and format_name == trained_fmt and labelset == trained.prompt_labelset:
        from nerprobe.formats.prompts import instruction

        if instruction(format_name, labelset) != trained.instruction:
            warnings.append(f"instruction: the adapter {trained.adapter} was trained with another instruction text "
                            "than this version of nerprobe writes for its format and label set")
    template, system = _chat_choice(trained, template, system, sources, warnings)
    if trained is not None and trained.foreign:  # not recorded by a manifest: say so in the run's manifest
        sources = {k: ("inferred" if v == "adapter" else v) for k, v in sources.items()}
    return Prompting(format_name, labelset, sources, tuple(warnings), trained, template, system)


def _chat_choice(trained: Trained | None, template, system, sources: dict, warnings: list) -> tuple:
    """The chat template and system prompt: the user's, else the adapter's, else the model's own and none."""
    sources["template"] = "given" if template else ("adapter" if trained and trained.template else "default")
    sources["system"] = "given" if system is not None else ("adapter" if trained and trained.system else "default")
    if trained is not None:
        if template and trained.template and template != trained.template:
            warnings.append(f"template: the adapter {trained.adapter} was trained with the {trained.template!r} chat "
                            f"template, not {template!r}")
        if system is not None and trained.system is not None and system != trained.system:
            warnings.append(f"system: the adapter {trained.adapter} was trained with another system prompt")
        template = template or trained.template
        system = system if system is not None else trained.system
    return (None if template in (None, "model") else template), system
