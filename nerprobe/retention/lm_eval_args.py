"""lm-eval's own option values, read the way lm-eval reads them, mapped onto nerprobe's settings.

``probe retention`` accepts ``--model_args``, ``--gen_kwargs`` and ``--limit`` as lm-eval writes them, so that a
user's lm-eval command line carries over. Only what means the same in nerprobe is accepted; anything else is refused
with one line naming the key (``InputError`` with the field of the option), never silently ignored.
"""

from __future__ import annotations

import math

from nerprobe.errors import InputError

#: ``--model_args`` keys and the nerprobe setting each sets.
MODEL_ARG_KEYS = {"pretrained": "model", "peft": "adapter"}
#: lm-eval ``--model`` values (backends) that mean "a Hugging Face model named by --model_args pretrained=...".
HF_BACKENDS = ("hf", "hf-auto", "huggingface")
#: ``--gen_kwargs`` keys accepted: the generation length, and the settings of greedy decoding (nerprobe's only one).
GREEDY_VALUES = {"do_sample": ("false", "0"), "temperature": ("0", "0.0"), "num_beams": ("1",)}


def parse_kv(text: str, field: str) -> dict[str, str]:
    """``"a=1,b=x"`` as lm-eval's ``simple_parse_args_string`` reads it: ``{"a": "1", "b": "x"}``; a part without
    ``=`` raises ``InputError`` with ``field``."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise InputError(None, None, f"{part!r} is not key=value (lm-eval writes a=1,b=2)", field=field)
        out[key.strip()] = value.strip()
    return out


def model_from_args(model: str | None, model_args: str | None) -> tuple[str, list[str]]:
    """``(model, adapters)`` from ``--model`` and ``--model_args``: ``pretrained=`` names the model (``--model`` may
    then be an lm-eval backend name such as ``hf``, or left out), ``peft=`` an adapter. ``InputError`` (field
    ``model_args``) for a key nerprobe has no meaning for (a revision goes in an alias), or a model named twice."""
    args = parse_kv(model_args, "model_args") if model_args else {}
    unknown = sorted(set(args) - set(MODEL_ARG_KEYS))
    if unknown:
        raise InputError(None, None, f"{unknown[0]!r} is not supported here (supported: {', '.join(MODEL_ARG_KEYS)}; "
                         "--device has its own option; a revision goes in an alias, see `probe models`)",
                         field="model_args")
    pretrained = args.get("pretrained")
    if pretrained and model and model not in HF_BACKENDS and model != pretrained:
        raise InputError(None, None, f"names the model {pretrained!r} but --model says {model!r}", field="model_args")
    name = pretrained or (model if model not in HF_BACKENDS else None)
    if not name:
        raise InputError(None, None, "name the model: --model NAME, or --model_args pretrained=NAME", field="model")
    return name, [args["peft"]] if args.get("peft") else []


def max_gen_toks_from(gen_kwargs: str | None) -> int | None:
    """The generation length ``--gen_kwargs`` sets (None when it sets none). Greedy settings (``do_sample=false``,
    ``temperature=0``, ``num_beams=1``) are accepted; sampling, or any other key, raises ``InputError`` (field
    ``gen_kwargs``): retention pairs items of two models, which needs deterministic answers."""
    if not gen_kwargs:
        return None
    args = parse_kv(gen_kwargs, "gen_kwargs")
    out = None
    for key, value in args.items():
        if key in ("max_gen_toks", "max_new_tokens"):
            try:
                out = int(value)
            except ValueError:
                raise InputError(None, None, f"{key}={value!r} is not an integer", field="gen_kwargs") from None
            if out < 1:
                raise InputError(None, None, f"{key} must be at least 1", field="gen_kwargs")
        elif key in GREEDY_VALUES:
            if value.strip().lower() not in GREEDY_VALUES[key]:
                raise InputError(None, None, f"{key}={value} samples; retention pairs greedy answers only "
                                 f"({key}={GREEDY_VALUES[key][0]})", field="gen_kwargs")
        else:
            raise InputError(None, None, f"{key!r} is not supported here (max_gen_toks, and the greedy settings "
                             "do_sample=false, temperature=0)", field="gen_kwargs")
    return out


def parse_limit(value: str | None) -> int | float | None:
    """``--limit`` as lm-eval takes it: an integer N (items per task) or a fraction in (0, 1) of each task's items;
    ``InputError`` (field ``limit``) otherwise."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise InputError(None, None, f"{text!r} is neither a number of items nor a fraction", field="limit") from None
    if number.is_integer() and number >= 1 and "." not in text:
        return int(number)
    if 0 < number < 1:
        return number
    raise InputError(None, None, f"{text} must be an integer of at least 1 or a fraction between 0 and 1",
                     field="limit")


def limit_count(limit: int | float | None, n_docs: int) -> int | None:
    """Items to take from a task of ``n_docs``: ``limit`` itself, or for a fraction ``ceil(n_docs × limit)`` (as
    lm-eval rounds it); None without a limit."""
    if limit is None:
        return None
    if isinstance(limit, float):
        return max(1, int(math.ceil(n_docs * limit)))
    return int(limit)
