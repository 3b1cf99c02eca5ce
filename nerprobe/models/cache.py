"""The generation cache: model outputs on disk, keyed by (model fingerprint, decoding settings, prompt).

Why sqlite3 and not an append-only JSONL: a transaction per batch makes each batch land whole or not at all, so a
run killed with SIGKILL loses at most the batch it was generating and never leaves a torn record; WAL mode lets
several data-parallel processes write to the same file safely (sqlite serialises writers, ``busy_timeout`` waits);
and lookups by key do not need to read the whole file. Rows are only ever inserted (``INSERT OR IGNORE``), never
updated, so the cache is append-only in effect: a result once written is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping


def default_cache_dir() -> Path:
    """``$NERPROBE_CACHE/generations`` if set, else ``~/.cache/nerprobe/generations``."""
    root = Path(os.environ.get("NERPROBE_CACHE") or Path.home() / ".cache" / "nerprobe")
    return root / "generations"


def settings_key(settings: Mapping) -> str:
    """Canonical JSON of decoding settings (sorted keys), the form they take in cache keys."""
    return json.dumps(dict(settings), sort_keys=True, separators=(",", ":"), default=str)


def entry_key(fingerprint: str, settings: Mapping, prompt: str) -> str:
    """The SHA-256 key of one generation."""
    payload = json.dumps([fingerprint, settings_key(settings), prompt], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class GenerationCache:
    """Generations stored in ``path`` (a directory holding ``generations.sqlite``, or a ``.sqlite`` file).

    ``get_many`` returns what is known, ``put_many`` adds a batch in one transaction. Safe to share between
    processes.
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path).expanduser()
        if path.suffix not in (".sqlite", ".db"):
            path = path / "generations.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")  # in WAL: durable against process kill, not power loss
        self._con.execute("PRAGMA busy_timeout=60000")
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "settings TEXT NOT NULL, prompt TEXT NOT NULL, output TEXT NOT NULL, created REAL NOT NULL "
            "DEFAULT (julianday('now')))"
        )

    def get_many(self, fingerprint: str, settings: Mapping | Iterable[Mapping], prompts: list[str]) -> dict[int, str]:
        """``{index: output}`` for the prompts already cached; ``settings`` is one mapping or one per prompt."""
        per_item = _per_item(settings, len(prompts))
        keys = [entry_key(fingerprint, s, p) for s, p in zip(per_item, prompts)]
        found: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = f"SELECT key, output FROM generations WHERE key IN ({','.join('?' * len(chunk))})"
            found.update(self._con.execute(q, chunk).fetchall())
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, fingerprint: str, settings: Mapping | Iterable[Mapping], prompts: list[str], outputs: list[str]):
        """Store one batch of generations in a single transaction (all or nothing)."""
        per_item = _per_item(settings, len(prompts))
        rows = [
            (entry_key(fingerprint, s, p), fingerprint, settings_key(s), p, o)
            for s, p, o in zip(per_item, prompts, outputs)
        ]
        with self._con:  # BEGIN ... COMMIT
            self._con.execute("BEGIN IMMEDIATE")
            self._con.executemany(
                "INSERT OR IGNORE INTO generations (key, fingerprint, settings, prompt, output) VALUES (?,?,?,?,?)",
                rows,
            )

    def __len__(self) -> int:
        return self._con.execute("SELECT count(*) FROM generations").fetchone()[0]

    def count(self, fingerprint: str | None = None) -> int:
        """Number of stored generations (of one model when ``fingerprint`` is given)."""
        if fingerprint is None:
            return len(self)
        return self._con.execute("SELECT count(*) FROM generations WHERE fingerprint=?", (fingerprint,)).fetchone()[0]

    def close(self) -> None:
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _per_item(settings, n: int) -> list[Mapping]:
    if isinstance(settings, Mapping):
        return [settings] * n
    out = list(settings)
    if len(out) != n:
        raise ValueError(f"{len(out)} settings for {n} prompts")
    return out
