"""Tokenize SFT records through the model's chat template, with the loss on the response only.

A record is rendered twice with ``tokenizer.apply_chat_template``: the user turn alone with the generation prompt
(what the model sees at inference) and the whole exchange. The prompt tokens get label -100, the response tokens
(and the end-of-turn the template writes after them) keep their ids. Templates do not always render the prompt as a
prefix of the exchange (Qwen3-style templates rewrite earlier turns, BPE may merge across the boundary), so each
record is encoded in the first of these modes that holds, and the modes are counted:

- ``prefix``: the tokens of the prompt are a prefix of the tokens of the exchange (the usual case);
- ``split``: the prompt *text* is a prefix, not its tokens: prompt and completion are tokenized apart and joined,
  which is exactly what generation conditions on;
- ``appended``: the template renders the exchange otherwise: prompt + response + eos token.

A tokenizer without a chat template gets the plain prompt ``user + "\\n"`` and the response followed by the eos token.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

IGNORE_INDEX = -100


def user_prompt(record: Mapping[str, str]) -> str:
    """The user message of an alpaca record: ``instruction + "\\n" + input`` (the instruction alone without input)."""
    return record["instruction"] + ("\n" + record["input"] if record.get("input") else "")


def _encode(tokenizer, text: str, special: bool = False) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def prompt_text(tokenizer, user: str) -> str:
    """The text the model is given at inference for ``user``: chat template + generation prompt, or the plain prompt."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False
        )
    return user + "\n"


def encode_example(tokenizer, user: str, response: str) -> tuple[list[int], list[int], str]:
    """Token ids and labels for one exchange, and the mode used (see the module docstring).

    ``labels`` equals ``input_ids`` except on the prompt tokens, where it is -100.
    """
    eos = tokenizer.eos_token or ""
    p_text = prompt_text(tokenizer, user)
    plain = not getattr(tokenizer, "chat_template", None)
    # as nerprobe.models.hf_generate does: a chat template writes its own BOS, a plain prompt gets the tokenizer's
    p_ids = _encode(tokenizer, p_text, special=plain)
    if getattr(tokenizer, "chat_template", None):
        full_text = tokenizer.apply_chat_template(
            [{"role": "user", "content": user}, {"role": "assistant", "content": response}], tokenize=False
        )
        if full_text.startswith(p_text):
            full_ids = _encode(tokenizer, full_text)
            if full_ids[: len(p_ids)] == p_ids and len(full_ids) > len(p_ids):
                ids, mode = full_ids, "prefix"
            else:
                ids, mode = p_ids + _encode(tokenizer, full_text[len(p_text) :]), "split"
        else:
            ids, mode = p_ids + _encode(tokenizer, response + eos), "appended"
    else:
        ids, mode = p_ids + _encode(tokenizer, response + eos), "plain"
    labels = [IGNORE_INDEX] * len(p_ids) + ids[len(p_ids) :]
    return ids, labels, mode


@dataclass
class SFTStats:
    """What tokenization did: records kept, records skipped as too long, modes used, token counts."""

    kept: int = 0
    too_long: int = 0
    modes: Counter = field(default_factory=Counter)
    max_tokens: int = 0
    response_tokens: int = 0

    def as_dict(self) -> dict:
        return {
            "kept": self.kept,
            "too_long": self.too_long,
            "modes": dict(self.modes),
            "max_tokens": self.max_tokens,
            "response_tokens": self.response_tokens,
        }


def build_sft_examples(tokenizer, records: Iterable[Mapping[str, str]], max_length: int) -> tuple[list[dict], SFTStats]:
    """Encode alpaca records (instruction/input/output) into ``{"input_ids", "attention_mask", "labels"}`` dicts.

    A record longer than ``max_length`` tokens is skipped and counted (truncating it would teach the model never to
    end its answer). Returns the examples and the ``SFTStats``.
    """
    out: list[dict] = []
    stats = SFTStats()
    for rec in records:
        ids, labels, mode = encode_example(tokenizer, user_prompt(rec), rec["output"])
        if len(ids) > max_length:
            stats.too_long += 1
            continue
        stats.kept += 1
        stats.modes[mode] += 1
        stats.max_tokens = max(stats.max_tokens, len(ids))
        stats.response_tokens += sum(1 for x in labels if x != IGNORE_INDEX)
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return out, stats
