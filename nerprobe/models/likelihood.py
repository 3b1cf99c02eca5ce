"""Token log-probabilities without generation: batched scoring of a continuation given a prefix, Min-K% Prob and
Min-K%++, through the same model loading as generation (``models.loading.LoadedModel``) and a cache on disk.

``LikelihoodScorer(loaded).score(pairs)`` takes ``(prefix, continuation)`` pairs and returns one ``TokenScores``
per pair: for every token of the continuation, its log-probability given everything before it, and the mean and
standard deviation of the log-probability of the next token under the model's full distribution at that position
(what Min-K%++ normalizes by). Prefix and continuation are tokenized apart and concatenated (whitespace that ends
the prefix moves to the continuation, as lm-eval does), so the continuation's tokens are the same whatever the
prefix. The tokenizer's BOS goes in front of every text when it has one (``start="auto"``;
``"eos"`` puts its EOS there, ``"none"`` nothing). Without a start token, the first token of a text is context only:
it is not scored (a model without BOS never learned to predict a document's first token: on the tiny demo model an
EOS in front gives that token -8 to -14 nats whatever it is, which would swamp Min-K%). One forward pass per batch
(texts sorted by length, padded on the right, log-softmax in float32 at the continuation positions only); nothing is
generated.

Cache: ``LikelihoodCache`` (sqlite, like ``models.cache.GenerationCache``) keyed by (model fingerprint, scoring
settings, prefix, continuation): ``$NERPROBE_CACHE/likelihoods`` by default.

Per text (``TokenScores``): ``mean_logprob`` (length-normalized log-likelihood, nats per token), ``min_k`` (Min-K%
Prob, Shi et al. 2024: the mean of the lowest k% token log-probabilities) and ``min_k_plus`` (Min-K%++, Zhang et
al. 2024: the same over ``(log p(x_t) - mu_t) / sigma_t``). Higher means more likely seen.

``greedy_continuations`` generates (greedy, plain text after the start token, no chat template) for guided
completion; it goes through the generation cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

SCORER_VERSION = 1
"""Enters every cache key: bump when the scoring changes."""

DEFAULT_K = 0.2
"""Min-K%'s k: the share of lowest-scoring tokens averaged (20%, the paper's default)."""


@dataclass(frozen=True)
class TokenScores:
    """The scores of one continuation's tokens: ``logp[t]`` = log p(token t | everything before), ``mu[t]``/
    ``sigma[t]`` the mean/standard deviation of log p(z) for z drawn from the model's distribution at that
    position. All lists have one entry per continuation token (empty for an empty continuation)."""

    logp: tuple[float, ...]
    mu: tuple[float, ...]
    sigma: tuple[float, ...]

    @property
    def n_tokens(self) -> int:
        """How many continuation tokens were scored."""
        return len(self.logp)

    @property
    def total(self) -> float:
        """Sum of the token log-probabilities (nats); 0.0 for an empty continuation."""
        return float(sum(self.logp))

    @property
    def mean_logprob(self) -> float | None:
        """Length-normalized log-likelihood (nats per token), None for an empty continuation."""
        return self.total / len(self.logp) if self.logp else None

    def min_k(self, k: float = DEFAULT_K) -> float | None:
        """Min-K% Prob: the mean of the lowest ``ceil(k * n)`` token log-probabilities (None when empty)."""
        return _lowest_mean(self.logp, k)

    def min_k_plus(self, k: float = DEFAULT_K) -> float | None:
        """Min-K%++: the mean of the lowest ``ceil(k * n)`` normalized scores ``(logp - mu) / sigma``."""
        z = [(lp - m) / s if s > 0 else 0.0 for lp, m, s in zip(self.logp, self.mu, self.sigma)]
        return _lowest_mean(z, k)

    def to_json(self) -> str:
        """Compact JSON (rounded to 1e-6) for the cache."""
        return json.dumps([[round(x, 6) for x in v] for v in (self.logp, self.mu, self.sigma)], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "TokenScores":
        """The inverse of ``to_json``."""
        a, b, c = json.loads(text)
        return cls(tuple(a), tuple(b), tuple(c))


def _lowest_mean(values: Sequence[float], k: float) -> float | None:
    if not values:
        return None
    if not 0 < k <= 1:
        raise ValueError(f"k must be in (0, 1], got {k}")
    n = max(1, math.ceil(k * len(values)))
    return float(sum(sorted(values)[:n]) / n)


# -- cache -----------------------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$NERPROBE_CACHE/likelihoods`` if set, else ``~/.cache/nerprobe/likelihoods``."""
    root = Path(os.environ.get("NERPROBE_CACHE") or Path.home() / ".cache" / "nerprobe")
    return root / "likelihoods"


def score_key(fingerprint: str, settings: dict, prefix: str, continuation: str) -> str:
    """The SHA-256 key of one scored ``(prefix, continuation)``."""
    payload = json.dumps([fingerprint, settings, prefix, continuation], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LikelihoodCache:
    """Token scores stored in ``path`` (a directory holding ``likelihoods.sqlite``, or a ``.sqlite`` file); a batch
    is written in one transaction, rows are only inserted. Safe to share between processes (WAL)."""

    def __init__(self, path: str | os.PathLike | None = None):
        path = Path(path or default_cache_dir()).expanduser()
        if path.suffix not in (".sqlite", ".db"):
            path = path / "likelihoods.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA busy_timeout=60000")
        self._con.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
                          "scores TEXT NOT NULL)")

    def get_many(self, keys: list[str]) -> dict[str, TokenScores]:
        """``{key: TokenScores}`` for the keys already stored."""
        found: dict[str, TokenScores] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i: i + 500]
            q = f"SELECT key, scores FROM scores WHERE key IN ({','.join('?' * len(chunk))})"
            found.update((k, TokenScores.from_json(v)) for k, v in self._con.execute(q, chunk).fetchall())
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, TokenScores]]) -> None:
        """Store ``(key, scores)`` rows in one transaction."""
        rows = [(k, fingerprint, s.to_json()) for k, s in items]
        with self._con:
            self._con.execute("BEGIN IMMEDIATE")
            self._con.executemany("INSERT OR IGNORE INTO scores (key, fingerprint, scores) VALUES (?,?,?)", rows)

    def count(self) -> int:
        """How many scored texts are stored."""
        return self._con.execute("SELECT count(*) FROM scores").fetchone()[0]

    def close(self) -> None:
        self._con.close()


# -- scoring ---------------------------------------------------------------------------------------------------------
START_POLICIES = ("auto", "bos", "eos", "none")


def start_token_id(tokenizer, policy: str = "auto") -> int | None:
    """The token put in front of every scored text: ``auto``/``bos``: the tokenizer's BOS (None without one);
    ``eos``: its EOS; ``none``: None."""
    if policy not in START_POLICIES:
        raise ValueError(f"unknown start policy {policy!r} (known: {', '.join(START_POLICIES)})")
    attr = {"auto": "bos_token_id", "bos": "bos_token_id", "eos": "eos_token_id"}.get(policy)
    tid = getattr(tokenizer, attr, None) if attr else None
    return None if tid is None else int(tid)


class LikelihoodScorer:
    """Scores ``(prefix, continuation)`` pairs with a ``LoadedModel`` (weights loaded on first uncached batch).

    ``cache``: a ``LikelihoodCache`` or None; ``batch_size`` texts per forward pass; ``max_length`` tokens per text
    (longer texts keep their last ``max_length`` tokens of prefix; the continuation is never cut); ``start`` the
    start-token policy (``START_POLICIES``, module docstring). ``scored`` counts
    the texts this scorer ran through the model (not read from the cache)."""

    def __init__(self, loaded, cache: LikelihoodCache | None = None, batch_size: int = 32, max_length: int = 1024,
                 start: str = "auto"):
        start_token_id(loaded.tokenizer, start)  # ValueError for an unknown policy
        self.start = start
        self.loaded = loaded
        self.cache = cache
        self.batch_size = max(1, int(batch_size))
        self.max_length = int(max_length)
        self.fingerprint = loaded.fingerprint
        self.scored = 0
        self.forward_passes = 0

    @property
    def settings(self) -> dict:
        """What enters the cache key besides the fingerprint and the text."""
        return {"version": SCORER_VERSION, "dtype": str(self.loaded.dtype).replace("torch.", ""),
                "start": start_token_id(self.loaded.tokenizer, self.start), "max_length": self.max_length}

    def encode(self, prefix: str, continuation: str) -> tuple[list[int], int]:
        """``(ids, n_continuation)``: start token + prefix ids + continuation ids (tokenized apart). Whitespace at
        the end of the prefix moves to the front of the continuation (a BPE writes a word with its leading space)."""
        tok = self.loaded.tokenizer
        stripped = prefix.rstrip()
        prefix, continuation = stripped, prefix[len(stripped):] + continuation
        pre = tok(prefix, add_special_tokens=False)["input_ids"] if prefix else []
        cont = tok(continuation, add_special_tokens=False)["input_ids"] if continuation else []
        start = start_token_id(tok, self.start)
        head = ([start] if start is not None else []) + pre
        keep = max(1, self.max_length - len(cont))
        return head[-keep:] + cont, len(cont)

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[TokenScores]:
        """One ``TokenScores`` per ``(prefix, continuation)``, in order (cached ones reused, new ones stored)."""
        settings = self.settings
        keys = [score_key(self.fingerprint, settings, p, c) for p, c in pairs]
        found = self.cache.get_many(list(dict.fromkeys(keys))) if self.cache is not None else {}
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k not in found:
                todo.setdefault(k, i)
        if todo:
            encoded = {k: self.encode(*pairs[i]) for k, i in todo.items()}
            order = sorted(encoded, key=lambda k: (-len(encoded[k][0]), todo[k]))
            for start in range(0, len(order), self.batch_size):
                batch = order[start: start + self.batch_size]
                got = self._forward([encoded[k] for k in batch])
                self.scored += len(batch)
                self.forward_passes += 1
                found.update(zip(batch, got))
                if self.cache is not None:
                    self.cache.put_many(self.fingerprint, zip(batch, got))
        return [found[k] for k in keys]

    def score_texts(self, texts: Sequence[str]) -> list[TokenScores]:
        """Every token of each text (empty prefix): what Min-K% reads."""
        return self.score([("", t) for t in texts])

    def _forward(self, encoded: list[tuple[list[int], int]]) -> list[TokenScores]:
        import torch

        tok, model = self.loaded.tokenizer, self.loaded.model
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        width = max(len(ids) for ids, _ in encoded)
        input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for r, (ids, _) in enumerate(encoded):  # right padding: positions of real tokens are 0..n-1
            input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[r, : len(ids)] = 1
        device = self.loaded.device
        with torch.inference_mode():
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            rows, cols, targets, owner = [], [], [], []
            for r, (ids, n_cont) in enumerate(encoded):
                first = len(ids) - n_cont
                for t in range(max(first, 1), len(ids)):  # token t is predicted at position t - 1
                    rows.append(r)
                    cols.append(t - 1)
                    targets.append(ids[t])
                    owner.append(r)
            out: list[list[tuple[float, float, float]]] = [[] for _ in encoded]
            if rows:
                sel = logits[torch.tensor(rows, device=logits.device), torch.tensor(cols, device=logits.device)]
                logprobs = torch.log_softmax(sel.float(), dim=-1)
                probs = logprobs.exp()
                mu = (probs * logprobs).sum(-1)
                var = (probs * logprobs.square()).sum(-1) - mu.square()
                sigma = var.clamp_min(0).sqrt()
                lp = logprobs.gather(1, torch.tensor(targets, device=logits.device)[:, None])[:, 0]
                for r, a, b, c in zip(owner, lp.tolist(), mu.tolist(), sigma.tolist()):
                    out[r].append((a, b, c))
        return [TokenScores(tuple(x[0] for x in o), tuple(x[1] for x in o), tuple(x[2] for x in o)) for o in out]


# -- guided completion -----------------------------------------------------------------------------------------------
def greedy_continuations(loaded, prefixes: Sequence[str], max_new_tokens: Sequence[int] | int, *, cache=None,
                         batch_size: int = 16) -> list[str]:
    """Greedy continuation of each plain-text prefix (BOS when the tokenizer has one, then the prefix; no chat
    template), cut at EOS and at its own ``max_new_tokens``; through ``cache`` (a ``models.cache.GenerationCache``)
    when given. Returns the decoded new text per prefix."""
    budgets = [max_new_tokens] * len(prefixes) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    settings = [{"decoding": "greedy", "mode": "plain-continuation", "max_new_tokens": b,
                 "start": start_token_id(loaded.tokenizer), "dtype": str(loaded.dtype).replace("torch.", "")}
                for b in budgets]
    outputs: dict[int, str] = dict(cache.get_many(loaded.fingerprint, settings, list(prefixes))) if cache else {}
    todo = [i for i in range(len(prefixes)) if i not in outputs]
    tok = loaded.tokenizer
    start = start_token_id(tok)
    enc = {i: ([start] if start is not None else []) + tok(prefixes[i], add_special_tokens=False)["input_ids"]
           for i in todo}
    todo.sort(key=lambda i: (-len(enc[i]), i))
    for s in range(0, len(todo), batch_size):
        batch = todo[s: s + batch_size]
        outs = _generate_batch(loaded, [enc[i] for i in batch], [budgets[i] for i in batch])
        outputs.update(zip(batch, outs))
        if cache is not None:
            cache.put_many(loaded.fingerprint, [settings[i] for i in batch], [prefixes[i] for i in batch], outs)
    return [outputs[i] for i in range(len(prefixes))]


def _generate_batch(loaded, encoded: list[list[int]], budgets: list[int]) -> list[str]:
    import torch

    from nerprobe.models.hf_generate import _eos_ids

    tok, model = loaded.tokenizer, loaded.model
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for r, ids in enumerate(encoded):  # left padding: generate reads position ids from the mask
        input_ids[r, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        mask[r, width - len(ids):] = 1
    eos = _eos_ids(model, tok)
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids.to(loaded.device), attention_mask=mask.to(loaded.device),
                             max_new_tokens=max(budgets), do_sample=False, num_beams=1, temperature=None, top_p=None,
                             top_k=None, pad_token_id=pad, eos_token_id=eos)
    results = []
    for row, budget in zip(out[:, width:].tolist(), budgets):
        row = row[:budget]
        cut = next((k for k, t in enumerate(row) if t in eos), len(row))
        results.append(tok.decode(row[:cut], skip_special_tokens=True))
    return results
