"""Provenance of what nerprobe writes, and the one writer of its manifests.

Every manifest (a memorization or retention run, a LoRA adapter, a predictions file) carries the same three keys,
made here and nowhere else: ``command`` (the command line), ``created`` (UTC, ISO 8601, ``...Z``) and ``versions``
(Python and the libraries that decide the numbers). Data identities have one form too: ``sha256:<hex>`` of a file's
bytes (``file_sha256``) or of a corpus's sentences (``sentences_sha256``), so two runs on the same corpus record the
same digest whichever command made them, and a report can check that the runs it combines used the same data.

A run directory is one run. Its manifest says ``run.state``: ``running`` is written before the run touches any of
its files, ``complete`` after the last one, together with the SHA-256 of every file the run wrote
(``begin_run``/``finish_run``). ``check_run`` tells a finished, untouched run from an unfinished or mixed one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

#: The libraries whose versions a manifest records (those installed).
VERSION_PACKAGES = ("nerprobe", "numpy", "scipy", "statsmodels", "torch", "transformers", "peft", "accelerate",
                    "lm_eval", "datasets")
RUNNING, COMPLETE = "running", "complete"


# -- who, when, with what ------------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    """``{"python": ..., package: version}`` for Python and each installed package of ``VERSION_PACKAGES``."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in VERSION_PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def utc_now() -> str:
    """The current time in UTC as ISO 8601 to the second: ``2026-11-28T16:05:09Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_line(argv: Iterable[str] | None = None) -> str:
    """The command as the user typed it, shell-quoted: ``probe <args>`` (from ``sys.argv`` by default)."""
    args = list(sys.argv if argv is None else argv)
    return ("probe " + shlex.join(args[1:])).strip()


def stamp(command: str | None = None) -> dict:
    """``{"command", "created", "versions"}``: the provenance keys every manifest carries."""
    return {"command": command or command_line(), "created": utc_now(), "versions": versions()}


# -- identities of data --------------------------------------------------------------------------------------------
def file_sha256(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's bytes (streamed)."""
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def sentences_sha256(sentences) -> str:
    """``sha256:<hex>`` over the sentences in order: each one's id, text and entities ``[start, end, label]``, one
    JSON line per sentence (``json.dumps`` defaults). The identity of a corpus as nerprobe read it, whatever file
    format it came in."""
    h = hashlib.sha256()
    for s in sentences:
        row = [s.id, s.text, [[e.start, e.end, e.label] for e in s.entities]]
        h.update(json.dumps(row).encode("utf-8"))  # the form adapter manifests used before this module: same hex
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


# -- writing -------------------------------------------------------------------------------------------------------
def write_json(path: str | os.PathLike, obj, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` through a temporary file renamed into place (all or nothing); returns path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, indent=indent, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_manifest(path: str | os.PathLike, manifest: dict, *, command: str | None = None) -> dict:
    """Write ``manifest`` (with ``command``/``created``/``versions`` added where missing) atomically to ``path``;
    returns the manifest as written."""
    full = {**stamp(command), **{k: v for k, v in manifest.items() if not (k == "command" and not v)}}
    write_json(path, full)
    return full


# -- run directories -----------------------------------------------------------------------------------------------
MANIFEST = "manifest.json"


def run_files(run_dir: Path, parts: Iterable[str]) -> list[str]:
    """The files under ``parts`` (top-level files or folders of ``run_dir``), as sorted POSIX paths relative to it;
    temporary files (``*.tmp``) are not part of a run."""
    run_dir = Path(run_dir)
    out: list[str] = []
    for part in parts:
        p = run_dir / part
        if p.is_file():
            out.append(part)
        elif p.is_dir():
            out += [f.relative_to(run_dir).as_posix() for f in p.rglob("*")
                    if f.is_file() and f.suffix != ".tmp"]
    return sorted(out)


def begin_run(run_dir: Path, manifest: dict, parts: Iterable[str], *, command: str | None = None) -> dict:
    """Mark ``run_dir`` as holding an unfinished run: its manifest says ``run.state = "running"`` before any other
    file of the run is written. Returns the manifest as written."""
    run = {"state": RUNNING, "parts": list(parts)}
    return write_manifest(Path(run_dir) / MANIFEST, {**manifest, "run": run}, command=command)


def finish_run(run_dir: Path, manifest: dict, parts: Iterable[str], *, command: str | None = None) -> dict:
    """Mark ``run_dir`` complete: the manifest records the SHA-256 of every file under ``parts`` and
    ``run.state = "complete"``, written last. Returns the manifest as written."""
    run_dir, parts = Path(run_dir), list(parts)
    files = {rel: file_sha256(run_dir / rel) for rel in run_files(run_dir, parts)}
    run = {"state": COMPLETE, "finished": utc_now(), "parts": parts, "files": files}
    return write_manifest(run_dir / MANIFEST, {**manifest, "run": run}, command=command)


def _inside(rel: str) -> bool:
    """Whether ``rel`` is a plain relative path that stays inside the run directory."""
    p = Path(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def check_run(run_dir: Path, manifest: dict) -> str | None:
    """None when ``run_dir`` holds one finished run exactly as its manifest records it; else why not, in a few words.

    A manifest without ``run`` (written before runs carried a state) is not checked."""
    run = manifest.get("run")
    if run is None:
        return None
    if not isinstance(run, dict) or not isinstance(run.get("files", {}), dict) \
            or not isinstance(run.get("parts", []), list) \
            or not all(_inside(str(p)) for p in [*run.get("parts", []), *run.get("files", {})]):
        return "its manifest's \"run\" entry is malformed"
    if run.get("state") != COMPLETE:
        return (f"the run is not finished (state {run.get('state')!r}): it was interrupted or is still running; "
                "rerun it with the same options to finish it")
    recorded: dict = run.get("files", {})
    present = set(run_files(Path(run_dir), [str(p) for p in run.get("parts", [])]))
    missing, extra = sorted(set(recorded) - present), sorted(present - set(recorded))
    if missing:
        return f"{missing[0]} is missing: the run directory is incomplete"
    if extra:
        return f"{extra[0]} is not part of the recorded run: the directory mixes files of several runs"
    changed = [rel for rel in sorted(recorded) if file_sha256(Path(run_dir) / rel) != recorded[rel]]
    if changed:
        return f"{changed[0]} is not the file the run wrote (changed since, or copied from another run)"
    return None
