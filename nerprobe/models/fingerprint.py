"""Fingerprints of models and adapters, for run manifests and generation-cache keys.

A local directory is fingerprinted by the SHA-256 of the files that decide its outputs (weights, configs, tokenizer,
chat template), streamed in 1 MiB blocks. File digests are remembered in a small sqlite table keyed by
``(absolute path, size, mtime_ns)``, so a 15 GB model is hashed once, not on every run. A hub id without a local
copy is fingerprinted by its id and revision.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

#: Files that decide a model's outputs; everything else in a model directory (README, logs, checkpoints) is ignored.
FINGERPRINT_PATTERNS = (
    "*.safetensors",
    "*.json",
    "*.jinja",
    "*.model",
    "*.tiktoken",
    "merges.txt",
    "vocab.txt",
)
#: Names of nerprobe's own adapter manifests (written by ``nerprobe.models.training``) that are not model files.
ADAPTER_MANIFEST_NAMES = ("nerprobe_adapter.json", "nerprobe_manifest.json", "manifest.json")
#: Not part of a fingerprint: bookkeeping files that change without changing the model.
_IGNORED = set(ADAPTER_MANIFEST_NAMES) | {"trainer_state.json", "training_args.json", "all_results.json",
                                          "train_results.json", "eval_results.json"}


def hash_cache_path() -> Path:
    """Where file digests are remembered: ``$NERPROBE_CACHE/filehashes.sqlite`` (default ~/.cache/nerprobe)."""
    root = Path(os.environ.get("NERPROBE_CACHE") or Path.home() / ".cache" / "nerprobe")
    return root / "filehashes.sqlite"


def _open_hash_cache() -> sqlite3.Connection | None:
    path = hash_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=30)
        con.execute(
            "CREATE TABLE IF NOT EXISTS digests (path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT, "
            "PRIMARY KEY (path, size, mtime_ns))"
        )
        return con
    except sqlite3.Error:
        return None  # a read-only home must not stop a run: hash without remembering


def file_sha256(path: Path, *, _con: sqlite3.Connection | None = None) -> str:
    """The SHA-256 hex digest of a file, streamed; reused from the digest cache when size and mtime are unchanged."""
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    con = _con or _open_hash_cache()
    try:
        if con is not None:
            row = con.execute("SELECT sha256 FROM digests WHERE path=? AND size=? AND mtime_ns=?", key).fetchone()
            if row:
                return row[0]
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        if con is not None:
            try:
                with con:
                    con.execute("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?)", (*key, digest))
            except sqlite3.Error:
                pass
        return digest
    finally:
        if con is not None and _con is None:
            con.close()


def model_files(directory: Path) -> list[Path]:
    """The files of a model or adapter directory that enter its fingerprint, sorted by relative name."""
    directory = Path(directory)
    files = {p for pattern in FINGERPRINT_PATTERNS for p in directory.glob(pattern) if p.is_file()}
    return sorted((p for p in files if p.name not in _IGNORED), key=lambda p: p.name)


def directory_fingerprint(directory: Path) -> str:
    """SHA-256 over ``name:digest`` lines of the directory's model files (see ``model_files``)."""
    con = _open_hash_cache()
    try:
        lines = [f"{p.name}:{file_sha256(p, _con=con)}" for p in model_files(directory)]
    finally:
        if con is not None:
            con.close()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def base_fingerprint(base: str, revision: str | None = None) -> str:
    """``sha256:<hex>`` of a local base model directory, or ``hub:<id>@<revision>`` for a hub id."""
    path = Path(base).expanduser()
    if path.is_dir():
        return "sha256:" + directory_fingerprint(path)
    return f"hub:{base}@{revision or 'main'}"


def adapter_fingerprint(adapter: str | None) -> str | None:
    """``sha256:<hex>`` of an adapter directory, or None without an adapter."""
    if adapter is None:
        return None
    return "sha256:" + directory_fingerprint(Path(adapter).expanduser())


def combine(base_fp: str, adapter_fp: str | None) -> str:
    """The model fingerprint used in cache keys and manifests: 24 hex digits over base and adapter fingerprints."""
    return hashlib.sha256(json.dumps([base_fp, adapter_fp]).encode()).hexdigest()[:24]


def spec_fingerprints(spec) -> dict:
    """``{"base": ..., "adapter": ..., "model": ...}`` for a ``ModelSpec``, computed without loading weights."""
    b = base_fingerprint(spec.base, spec.revision)
    a = adapter_fingerprint(spec.adapter)
    return {"base": b, "adapter": a, "model": combine(b, a)}
