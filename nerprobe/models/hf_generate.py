"""Batched greedy generation with a Hugging Face model (base or base + LoRA), through the generation cache.

Batches are formed from prompts sorted by token length (little padding), padded on the left with the attention
mask, so that position ids follow the mask and each row decodes exactly as it would alone. Each request gets its
own ``max_new_tokens`` (``max_new_tokens_for``: input tokens × a factor of the output format + a margin); a batch
runs to the largest and each row is cut to its own budget, which gives the same text as generating it alone.

``engine="continuous"`` hands the requests to transformers' continuous batching (``model.generate_batch``: paged
KV cache, requests join and leave the running batch as they finish) in chunks of ``CONTINUOUS_CHUNK``, instead of
padded ``model.generate`` batches; outputs are cut and cached the same way. It is a GPU path: on CPU it is much
slower than the padded batches.
"""

from __future__ import annotations

import math
from typing import Sequence

from nerprobe.models.predictors import Request, make_progress

#: Output tokens per input token, by format: the tagged formats rewrite the sentence with tags, the JSON formats
#: list entities with keys (offset_json adds numbers). Measured on rendered gold with a BPE tokenizer, rounded up.
FORMAT_OUTPUT_FACTOR = {
    "bracketed": 2.0,
    "xml": 2.5,
    "json": 2.0,
    "occurrence_index": 2.0,
    "offset_json": 3.0,
}
DEFAULT_FACTOR = 3.0
DEFAULT_MARGIN = 32
MAX_NEW_TOKENS_CAP = 2048
#: Requests per ``generate_batch`` call of the continuous engine (each call's outputs are cached before the next).
CONTINUOUS_CHUNK = 512
ENGINES = ("generate", "continuous")


def max_new_tokens_for(n_input_tokens: int, format_name: str, margin: int = DEFAULT_MARGIN) -> int:
    """The generation budget of one request: ``ceil(n_input_tokens × factor(format)) + margin``, capped at 2048."""
    factor = FORMAT_OUTPUT_FACTOR.get(format_name, DEFAULT_FACTOR)
    return min(MAX_NEW_TOKENS_CAP, math.ceil(n_input_tokens * factor) + margin)


def render_prompt(tokenizer, request_prompt: str, template=None, system: str | None = None) -> str:
    """The text fed to the model: ``template`` (a ``nerprobe.templates.ChatTemplate``) around the user prompt and the
    ``system`` prompt, else the tokenizer's own chat template, else ``[system + "\\n"] + prompt + "\\n"``."""
    from nerprobe.templates import messages_for, render_request

    if template is not None and template.source != "tokenizer":
        return template.render(messages_for(request_prompt, system), tokenizer=tokenizer)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages_for(request_prompt, system), tokenize=False,
                                             add_generation_prompt=True)
    return render_request(None, request_prompt, system)


class HFPredictor:
    """Greedy generation with a ``LoadedModel``; outputs go through ``cache`` (a ``GenerationCache``) when given.

    ``max_new_tokens`` fixes the budget for every request (default: per request, ``max_new_tokens_for``);
    ``stop_strings`` end an output at their first occurrence (the stop string itself is dropped). ``template`` (a
    ``nerprobe.templates.ChatTemplate``; None: the tokenizer's own) and ``system`` (a system prompt) shape the prompt.
    ``engine``: ``generate`` (padded, length-sorted batches of ``batch_size``) or ``continuous`` (transformers'
    continuous batching, see the module docstring).
    """

    def __init__(self, loaded, cache=None, max_new_tokens: int | None = None, batch_size: int = 8,
                 stop_strings: Sequence[str] = (), template=None, system: str | None = None,
                 engine: str = "generate"):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.engine = engine
        self.loaded = loaded
        self.cache = cache
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, int(batch_size))
        self.stop_strings = tuple(stop_strings)
        self.fingerprint = loaded.fingerprint
        self.generated = 0  # how many outputs this predictor generated (not read from the cache)
        self.template = template if template is not None and template.source != "tokenizer" else None
        self.system = system

    @property
    def prompt_style(self) -> str:
        """``template:<name>`` for a chosen template, else the model's (``chat_template`` or ``plain``)."""
        return f"template:{self.template.name}" if self.template is not None else self.loaded.prompt_style

    # -- what is generated ------------------------------------------------------------------------------------
    def prompt_text(self, request: Request) -> str:
        """The exact text fed to the model for ``request``."""
        return render_prompt(self.loaded.tokenizer, request.prompt, self.template, self.system)

    def budget(self, request: Request) -> int:
        """``max_new_tokens`` of one request."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        n = len(self.loaded.tokenizer(request.input, add_special_tokens=False)["input_ids"])
        return max_new_tokens_for(n, request.format_name)

    def settings(self, budget: int) -> dict:
        """The decoding settings that enter the cache key (the engine only when it is not the default, so that
        outputs cached before engines existed keep their keys)."""
        settings = {
            "decoding": "greedy",
            "max_new_tokens": budget,
            "stop": list(self.stop_strings),
            "dtype": str(self.loaded.dtype).replace("torch.", ""),
            "prompt_style": self.prompt_style,
        }
        if self.engine != "generate":
            settings["engine"] = self.engine
        return settings

    # -- prediction -------------------------------------------------------------------------------------------
    def predict(self, requests: Sequence[Request], *, progress: bool = True, description: str = "generating") -> list[str]:
        """One output per request, in order; cached outputs are reused and new ones stored batch by batch."""
        texts = [self.prompt_text(r) for r in requests]
        budgets = [self.budget(r) for r in requests]
        settings = [self.settings(b) for b in budgets]
        outputs: dict[int, str] = {}
        if self.cache is not None:
            outputs.update(self.cache.get_many(self.fingerprint, settings, texts))
        first_of: dict[tuple[str, int], int] = {}  # identical prompts are generated once
        for i in range(len(requests)):
            if i not in outputs:
                first_of.setdefault((texts[i], budgets[i]), i)
        todo = sorted(first_of.values())
        self.generate_indices(texts, budgets, settings, todo, outputs, progress=progress, description=description)
        return [outputs[i] if i in outputs else outputs[first_of[(texts[i], budgets[i])]] for i in range(len(requests))]

    def generate_indices(self, texts, budgets, settings, todo, outputs, *, progress=True, description="generating"):
        """Generate ``texts[i]`` for ``i in todo`` in length-sorted batches, storing each batch in the cache."""
        tok = self.loaded.tokenizer
        lengths = {i: len(tok(texts[i], add_special_tokens=False)["input_ids"]) for i in todo}
        order = sorted(todo, key=lambda i: (-lengths[i], i))
        step = CONTINUOUS_CHUNK if self.engine == "continuous" else self.batch_size
        run = self._generate_continuous if self.engine == "continuous" else self._generate
        with make_progress(disable=not progress) as bar:
            task = bar.add_task(description, total=len(order))
            for start in range(0, len(order), step):
                batch = order[start : start + step]
                outs = run([texts[i] for i in batch], [budgets[i] for i in batch])
                self.generated += len(batch)
                outputs.update(zip(batch, outs))
                if self.cache is not None:
                    self.cache.put_many(self.fingerprint, [settings[i] for i in batch], [texts[i] for i in batch], outs)
                bar.advance(task, len(batch))

    def _generate(self, texts: list[str], budgets: list[int]) -> list[str]:
        import torch

        model, tok = self.loaded.model, self.loaded.tokenizer
        add_special = self.prompt_style == "plain"  # a chat template writes its own BOS
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=add_special).to(self.loaded.device)
        eos = _eos_ids(model, tok)
        kwargs = dict(
            max_new_tokens=max(budgets),
            do_sample=False,
            num_beams=1,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=tok.pad_token_id,
            eos_token_id=eos,
        )
        if self.stop_strings:
            kwargs.update(stop_strings=list(self.stop_strings), tokenizer=tok)
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        return [self._decode(row, budget, eos) for row, budget in zip(new, budgets)]

    def _generate_continuous(self, texts: list[str], budgets: list[int]) -> list[str]:
        """``texts`` through ``model.generate_batch``; results are matched back to prompts by their token ids (a
        repeated prompt has one greedy output, so which copy gets which result does not matter)."""
        from transformers import GenerationConfig

        from nerprobe.errors import NerprobeError

        model, tok = self.loaded.model, self.loaded.tokenizer
        if not hasattr(model, "generate_batch"):
            raise NerprobeError("--engine continuous needs transformers' continuous batching (generate_batch), which "
                                "this transformers does not have: upgrade transformers or use --engine generate")
        add_special = self.prompt_style == "plain"
        ids = [tok(t, add_special_tokens=add_special)["input_ids"] for t in texts]
        eos = _eos_ids(model, tok)
        config = GenerationConfig(max_new_tokens=max(budgets), do_sample=False, num_beams=1,
                                  pad_token_id=tok.pad_token_id, eos_token_id=eos)
        results = model.generate_batch(inputs=ids, generation_config=config, progress_bar=False)
        by_prompt: dict[tuple[int, ...], list] = {}
        for result in results.values():
            if getattr(result, "error", None):
                raise NerprobeError(f"continuous batching failed on a request ({result.error}); outputs generated "
                                    "before are kept in the cache: rerun, or use --engine generate")
            by_prompt.setdefault(tuple(result.prompt_ids), []).append(result.generated_tokens)
        missing = sum(1 for i in ids if not by_prompt.get(tuple(i)))
        if missing:
            raise NerprobeError(f"continuous batching returned no output for {missing} of {len(ids)} requests; "
                                "outputs generated before are kept in the cache: rerun, or use --engine generate")
        rows = [by_prompt[tuple(i)][0] for i in ids]
        return [self._decode(list(row), budget, eos) for row, budget in zip(rows, budgets)]

    def _decode(self, row: list[int], budget: int, eos: list[int]) -> str:
        """One generated row as text: cut to ``budget`` tokens, at the first end-of-sequence id and at a stop string."""
        row = row[:budget]
        cut = next((k for k, t in enumerate(row) if t in eos), len(row))
        return self._cut_at_stop(self.loaded.tokenizer.decode(row[:cut], skip_special_tokens=True))

    def _cut_at_stop(self, text: str) -> str:
        cuts = [text.find(s) for s in self.stop_strings if s and s in text]
        return text[: min(cuts)] if cuts else text


def _eos_ids(model, tok) -> list[int]:
    """All end-of-sequence ids: the generation config's (Llama 3 has several) and the tokenizer's."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:
        ids.append(tok.eos_token_id)
    return ids
