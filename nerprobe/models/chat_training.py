"""LoRA training with a chosen chat template and system prompt (``probe train --template/--system``).

``models.training.train_lora`` renders every example through ``tokenizer.apply_chat_template`` (``models.sft_data``).
To train on exactly the prompts that generation will use with ``--template``/``--system``
(``models.hf_generate.render_prompt``), the base's tokenizer gets a chat template that writes them
(``templates.tokenizer_chat_template``), and the adapter's manifest records the template and the system prompt, so
that ``probe generate`` and ``probe memorization`` prompt the adapter the same way by default
(``models.prompting.trained_prompting``). The adapter keeps that tokenizer, so its own template prompts as trained too.
"""

from __future__ import annotations

from pathlib import Path

from nerprobe.models.training import MANIFEST_NAME, read_manifest, train_lora


class _LoadedBase(tuple):
    """``(model, tokenizer)`` already loaded, carrying the spec's ``base`` and ``revision`` so that the adapter's
    manifest fingerprints the base exactly as training from the spec would."""

    def __new__(cls, model, tokenizer, spec):
        self = super().__new__(cls, (model, tokenizer))
        self.base, self.revision = spec.base, getattr(spec, "revision", None)
        return self


def train_lora_prompted(spec, sentences, format_name: str, labelset, out_dir: str | Path, config=None, *,
                        template: str | None = None, system: str | None = None, overwrite: bool = False,
                        progress: bool = True) -> Path:
    """``train_lora`` on ``spec`` with the chat ``template`` (a built-in name, a Jinja file, ``model`` or None: the
    tokenizer's own) and ``system`` prompt; returns the adapter directory. Without either it is ``train_lora``
    unchanged. ``InputError`` (field ``template``) for an unknown template, or a system prompt on a model without a
    chat template and no ``template``."""
    from nerprobe.templates import resolve_template, tokenizer_chat_template

    if template in (None, "model") and system is None:
        return train_lora(spec, sentences, format_name, labelset, out_dir, config, overwrite=overwrite,
                          progress=progress)
    resolve_template(template)  # an unknown name or a broken file fails before the model loads
    from nerprobe.models.loading import load_base
    from nerprobe.provenance import write_manifest

    model, tokenizer = load_base(str(spec.base), revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    chat = resolve_template(template, tokenizer)
    chat = None if chat is None or chat.source == "tokenizer" else chat
    tokenizer.chat_template = tokenizer_chat_template(chat, system, getattr(tokenizer, "chat_template", None))
    out = train_lora(_LoadedBase(model, tokenizer, spec), sentences, format_name, labelset, out_dir, config,
                     overwrite=overwrite, progress=progress)
    manifest = read_manifest(out)
    manifest["template"] = chat.manifest() if chat is not None else {"name": "model"}
    manifest["system"] = system
    write_manifest(Path(out) / MANIFEST_NAME, manifest)
    return out
