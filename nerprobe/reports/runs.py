"""Loading run directories for a report: no model is loaded and nothing is regenerated.

A run's kind comes from its ``manifest.json``: a memorization run (``probe memorization``) records its ``probes``
and writes ``scores.json`` + ``stats.json``; a retention run (``probe retention``) records its ``identity`` (models,
tasks, settings) and writes ``stats.json`` with ``comparisons``; a compare run (``probe compare``) records its
gold and systems and writes ``stats.json`` with ``systems`` and ``comparisons``. A folder that holds no manifest but whose
sub-folders do (``probe demo``'s ``runs/``) stands for those runs, so runs from several machines combine by
copying their directories side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nerprobe import safe_io
from nerprobe.data.io import read_json
from nerprobe.errors import InputError
from nerprobe.provenance import check_run

MEMORIZATION, RETENTION, COMPARE = "memorization", "retention", "compare"


@dataclass
class Run:
    """One run directory: its kind, its manifest and the JSON results it holds.

    ``scores`` is ``scores.json`` (memorization only, else empty); ``stats`` is ``stats.json``; ``name`` is the
    directory name, made unique among the loaded runs.
    """

    path: Path
    kind: str
    manifest: dict
    stats: dict
    scores: dict = field(default_factory=dict)
    name: str = ""

    @property
    def format_name(self) -> str | None:
        """The output format of a memorization run (None for retention)."""
        return self.manifest.get("format") if self.kind == MEMORIZATION else None

    def fingerprint(self, predictor: str) -> str | None:
        """The fingerprint a memorization run records for ``predictor`` (model, baseline, lookup, ...)."""
        return (self.manifest.get("predictors", {}).get(predictor) or {}).get("fingerprint")

    def sample_generations(self, predictor: str, probe: str, n: int = 5) -> list[dict]:
        """The first ``n`` saved generations of ``predictor`` on ``probe`` (untrusted model text: escape it)."""
        path = self.path / "generations" / predictor / f"{probe}.jsonl"
        out: list[dict] = []
        if not path.is_file():
            return out
        with open(path, "rb") as f:
            for k, raw in enumerate(f, 1):
                if len(out) >= n:
                    break
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:  # InputError with line and column, not a traceback
                    raise safe_io.utf8_error(path, raw, err, line=k) from None
                try:
                    rec = safe_io.loads(line)
                except safe_io.JSONError:
                    continue  # a line cut by an interrupted run: the report shows the others
                if isinstance(rec, dict):
                    out.append(rec)
        return out


def _read_json(path: Path) -> dict:
    """A JSON object from a run file (``InputError`` naming the file otherwise)."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise InputError(str(path), 1, "expected a JSON object")
    return obj


def run_kind(manifest: dict) -> str | None:
    """``"memorization"``, ``"retention"``, ``"compare"`` or None: the manifest's ``kind``, or for runs written
    before manifests
    carried one, from the keys it holds."""
    if manifest.get("kind") in (MEMORIZATION, RETENTION, COMPARE):
        return manifest["kind"]
    if "probes" in manifest and "predictors" in manifest:
        return MEMORIZATION
    if "identity" in manifest and "fingerprints" in manifest:
        return RETENTION
    return None


def load_run(path: str | Path) -> Run:
    """Read one run directory; ``InputError`` naming the file when it is not a finished run of a known kind.

    A run whose manifest records its state and file hashes (``nerprobe.provenance``) is refused when it is unfinished
    (interrupted, or still running) or when its files are not exactly the ones it wrote (a rerun killed half-way
    through into a copy of another run, files copied in from elsewhere)."""
    path = Path(path)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise InputError(str(mpath), None,
                         "no manifest.json: not a run directory of probe memorization, retention or compare")
    manifest = _read_json(mpath)
    kind = run_kind(manifest)
    if kind is None:
        raise InputError(str(mpath), 1, "unknown run kind (not a memorization, retention or compare manifest)")
    broken = check_run(path, manifest)
    if broken:
        raise InputError(str(path), None, f"not one finished {kind} run: {broken}")
    spath = path / "stats.json"
    if not spath.is_file():
        raise InputError(str(spath), None, f"missing: the {kind} run did not finish (rerun it into the same directory)")
    stats = _read_json(spath)
    scores = _read_json(path / "scores.json") if kind == MEMORIZATION else {}
    return Run(path=path, kind=kind, manifest=manifest, stats=stats, scores=scores, name=path.resolve().name)


def expand_run_dirs(paths) -> list[Path]:
    """Each path that is a run directory, or the run directories directly inside a folder that is not one."""
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(str(p), None, "does not exist")
        if (p / "manifest.json").is_file() or not p.is_dir():
            out.append(p)
            continue
        subs = sorted(d for d in p.iterdir() if (d / "manifest.json").is_file())
        if not subs:
            raise InputError(str(p / "manifest.json"), None, "no manifest.json here nor in any sub-folder")
        out += subs
    return out


def load_runs(paths) -> list[Run]:
    """Load every run under ``paths`` (see ``expand_run_dirs``); names made unique (``name``, ``name-2``, ...)."""
    runs = [load_run(p) for p in expand_run_dirs(paths)]
    seen: dict[str, int] = {}
    for r in runs:
        k = seen.get(r.name, 0) + 1
        seen[r.name] = k
        if k > 1:
            r.name = f"{r.name}-{k}"
    return runs


def data_notes(runs) -> list[str]:
    """What a report should say about the data of the runs it combines: one line for each corpus role (``train``,
    ``test``) on which its memorization runs differ, naming the runs of each digest (the corpus as read,
    ``provenance.sentences_sha256``). Empty when they agree or there is one run."""
    notes: list[str] = []
    mem = [r for r in runs if r.kind == MEMORIZATION]
    for role in ("train", "test"):
        groups: dict[str, list[str]] = {}
        for r in mem:
            hashes = (r.manifest.get("data") or {}).get("hashes") or {}
            digest = hashes.get(role) if isinstance(hashes, dict) else None
            groups.setdefault(digest if isinstance(digest, str) else "unknown", []).append(r.name)
        if len(groups) > 1:
            parts = "; ".join(f"{', '.join(names)} ({d[:19]}…)" for d, names in groups.items())
            notes.append(f"the memorization runs were made on different {role} sentences: {parts}; their numbers "
                         "are not comparable side by side")
    return notes

