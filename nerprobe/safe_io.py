"""Safe file handling for every command: read inputs with one-line errors, never write over an input, and write
outputs so that a failure leaves the old file (or nothing) behind.

Reading:

- :func:`check_input_file` — the path exists and is a file (a directory is "a directory", not "no such file").
- :func:`decode_utf8` — bytes to text; non-UTF-8 bytes give ``path:line: ... (column c)``.
- :func:`read_text` — both of the above.
- :func:`loads_json` / :func:`read_json` — JSON whose nesting depth is bounded (a 10,000-deep document is an
  ``InputError``, not a ``RecursionError``).
- :func:`quote` — an offending line or value, cut to :data:`QUOTE_LIMIT` characters for an error message.

Writing:

- :func:`check_file_name` — a name the user gives for an output is a file name, not a path.
- :func:`check_output_file` / :func:`check_output_dir` — before any work: the output is not one of the inputs, is not
  a directory where a file is needed (or a file where a folder is needed), and its folder can be written.
- :func:`atomic_write_text` / :func:`atomic_writer` — write to a temporary name in the same folder, rename into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from nerprobe.errors import InputError, NerprobeError

#: Most characters of a user's line or value quoted in an error message.
QUOTE_LIMIT = 200
#: Longest file or folder name most file systems accept, in bytes.
NAME_MAX = 255
#: Deepest JSON nesting accepted; real corpora, predictions and run files stay below 20.
MAX_JSON_DEPTH = 200


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` (for a str) or ``str(value)``, cut to ``limit`` characters with ``…(N chars)`` when longer."""
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


# ---- inputs ----------------------------------------------------------------------------------------------------------


def check_input_file(path) -> Path:
    """``Path(path)`` when it names a readable regular file; ``InputError`` naming it (missing, a directory, not
    readable) otherwise."""
    p = Path(path)
    if p.is_dir():
        raise InputError(str(path), None, "is a directory, not a file")
    if not p.exists():
        raise InputError(str(path), None, "no such file")
    if not p.is_file():
        raise InputError(str(path), None, "not a regular file (a pipe or device cannot be read as a corpus)")
    if not os.access(p, os.R_OK):
        raise InputError(str(path), None, "cannot read: permission denied")
    return p


def check_input_dir(path) -> Path:
    """``Path(path)`` when it names an existing folder; ``InputError`` naming it (missing, a file) otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(path), None, "no such folder")
    if not p.is_dir():
        raise InputError(str(path), None, "is a file, not a folder")
    return p


def read_bytes(path) -> bytes:
    """The bytes of an input file (:func:`check_input_file`'s errors, and ``cannot read`` for other OS errors)."""
    p = check_input_file(path)
    try:
        return p.read_bytes()
    except OSError as err:
        raise InputError(str(path), None, f"cannot read: {err.strerror or err}") from None


def utf8_error(path, data: bytes, err: UnicodeDecodeError, *, offset: int = 0, line: int | None = None) -> InputError:
    """The ``InputError`` for a decoding error in ``data``: line and column (1-based) of the first bad byte.

    ``offset`` is where ``data`` starts in the file and ``line`` its first line's number, for callers that decode
    one line at a time.
    """
    start = err.start
    if line is None:
        line = data.count(b"\n", 0, start) + 1
        line_start = data.rfind(b"\n", 0, start) + 1
    else:
        line_start = 0
    column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    return InputError(str(path), line, f"not UTF-8 (byte 0x{data[start]:02x} at column {column}); "
                                       "re-encode the file as UTF-8")


def decode_utf8(path, data: bytes) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped); ``InputError`` with line and column otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise utf8_error(path, data, err) from None
    return text.removeprefix("\ufeff")


def read_text(path) -> str:
    """The UTF-8 text of an input file, with the errors of :func:`read_bytes` and :func:`decode_utf8`."""
    return decode_utf8(path, read_bytes(path))


def json_depth_exceeded(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` in ``text`` (a linear scan, no recursion)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


class JSONError(ValueError):
    """Why a JSON text could not be decoded, with the 1-based line and column where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(value: Any) -> str | None:
    """The first string in ``value`` (keys included) that holds a lone UTF-16 surrogate, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _lone_surrogate(item)
        if found is not None:
            return found
    return None


def loads(text: str) -> Any:
    """``json.loads(text)`` with bounded nesting and text that can be written back as UTF-8; ``JSONError`` (never
    RecursionError, never a later UnicodeEncodeError) for text it cannot decode or a lone ``\\udXXX`` surrogate."""
    if json_depth_exceeded(text):
        raise JSONError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise JSONError(f"not valid JSON: {err.msg}", err.lineno, err.colno) from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JSONError("JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        bad = _lone_surrogate(value)
        if bad is not None:
            shown = quote(bad.encode("utf-8", "backslashreplace").decode("ascii"), 80)
            raise JSONError(f"a string holds a lone UTF-16 surrogate, which is not text: {shown}")
    return value


def loads_json(path, text: str, *, line: int | None = None) -> Any:
    """The JSON value of ``text`` read from ``path``; ``InputError`` ``path:line: why`` otherwise.

    ``line`` is the file line of ``text`` when it is one line of a JSON Lines file.
    """
    try:
        return loads(text)
    except JSONError as err:
        where = line if line is not None else err.line
        col = f" (column {err.column})" if err.column is not None and line is not None else ""
        raise InputError(str(path), where, err.message + col) from None


def read_json(path) -> Any:
    """The value of a JSON file; ``InputError`` (``path:line: why``) when it is missing, a directory, not UTF-8,
    not valid JSON or nested too deeply. Callers check the value's shape themselves."""
    return loads_json(path, read_text(path))


def check_jsonl_objects(path) -> int:
    """The number of records of a JSON Lines file whose every non-blank line is a JSON object; ``InputError``
    ``path:line: why`` for the first line that is not UTF-8, not JSON, too deep, or not an object."""
    data = read_bytes(path)
    n = 0
    for k, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if k == 1 else "utf-8")
        except UnicodeDecodeError as err:
            raise utf8_error(path, raw, err, line=k) from None
        if not isinstance(loads_json(path, line, line=k), dict):
            raise InputError(str(path), k, "expected a JSON object on every line")
        n += 1
    return n


def read_json_object(path) -> dict:
    """:func:`read_json` of a file that must hold a JSON object (``InputError`` otherwise)."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise InputError(str(path), 1, f"expected a JSON object, found {type(obj).__name__}")
    return obj


# ---- outputs ---------------------------------------------------------------------------------------------------------


def check_file_name(name: str, what: str = "name") -> str:
    """``name`` when it is a plain file name (no folder part, not ``.``/``..``, no NUL); ``NerprobeError``
    otherwise, so that a user-given name cannot write outside the output folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or name.startswith("~"):
        raise NerprobeError(f"{what} {quote(name)} must be a plain file name, not a path")
    return name


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name the same file (after resolving links, or the same inode)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


def _is_within(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _existing_ancestor(p: Path) -> Path:
    """The nearest existing folder at or above ``p``'s parent."""
    cur = p.absolute().parent
    while not cur.exists() and cur != cur.parent:
        cur = cur.parent
    return cur


def _check_parent(p: Path, shown: str) -> None:
    """The folder that will hold ``p`` exists (or can be created) and is writable."""
    anc = _existing_ancestor(p)
    if not anc.is_dir():
        raise NerprobeError(f"{shown}: cannot create it: {anc} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise NerprobeError(f"{shown}: cannot write to the folder {anc} (permission denied)")


def check_output_file(path, inputs: Iterable = (), *, what: str = "output", input_dirs: Iterable = ()) -> Path:
    """``Path(path)`` once it is safe to write a file there; ``NerprobeError`` naming it otherwise.

    Refused: a path that is (after resolving links) one of ``inputs`` or lies inside one of the ``input_dirs`` (a
    model or adapter folder), an existing directory, a path with no file name (``.``, ``/``), a parent that is a
    file, or a folder that cannot be written. Missing folders above it are allowed (the writer creates them).
    Nothing is created here.
    """
    p = Path(path)
    shown = str(path)
    if p.name in ("", ".", ".."):
        raise NerprobeError(f"{shown}: the {what} must name a file, not a folder")
    _check_name_length(p, shown)
    for inp in inputs:
        if inp is not None and same_file(p, inp):
            raise NerprobeError(f"{shown}: the {what} is the input file {inp}; choose another path (nothing written)")
    for folder in input_dirs:
        if folder is not None and Path(folder).is_dir() and _is_within(p, Path(folder)):
            raise NerprobeError(f"{shown}: the {what} lies inside the input folder {folder}; choose another path")
    if p.is_dir():
        raise NerprobeError(f"{shown}: is a directory; the {what} must be a file")
    if p.exists() and not p.is_file():
        raise NerprobeError(f"{shown}: is not a regular file (a pipe or device); the {what} must be a file")
    if p.exists() and not os.access(p, os.W_OK):
        raise NerprobeError(f"{shown}: cannot write it (permission denied)")
    _check_parent(p, shown)
    return p


def _check_name_length(p: Path, shown: str) -> None:
    """Every part of ``p`` fits the file system's name limit (else nothing could be written, after the work)."""
    for part in p.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise NerprobeError(f"{quote(shown)}: a name in this path is longer than {NAME_MAX} bytes")


def check_output_dir(path, inputs: Iterable = (), *, what: str = "output folder") -> Path:
    """``Path(path)`` once it is safe to write a folder there; ``NerprobeError`` naming it otherwise.

    Refused: ``.``/``/``/the current folder, an existing file, a folder that is or contains one of ``inputs`` (a
    rerun could replace it), a name over :data:`NAME_MAX` bytes, and a parent that cannot be written. Whether an
    existing folder may be replaced is the caller's decision (see :func:`is_nerprobe_output`).
    """
    p = Path(path)
    shown = str(path)
    _check_name_length(p, shown)
    if p.absolute().name in ("", ".", "..") or p.resolve() == Path.cwd().resolve() or p.resolve() == p.resolve().parent:
        raise NerprobeError(f"{shown}: the {what} must be a new or nerprobe-written folder, not the current "
                            "folder or a root")
    if p.exists() and not p.is_dir():
        raise NerprobeError(f"{shown}: is a file; the {what} must be a folder")
    for inp in inputs:
        if inp is None:
            continue
        ip = Path(inp)
        if same_file(p, ip) or _is_within(ip, p):
            raise NerprobeError(f"{shown}: the {what} would hold or replace the input {inp}; choose another folder")
    if p.exists() and not os.access(p, os.W_OK | os.X_OK):
        raise NerprobeError(f"{shown}: cannot write to it (permission denied)")
    _check_parent(p, shown)
    return p


def check_writable_dir(path, *, what: str = "folder") -> Path:
    """``Path(path)`` when it is a folder that can be written, or can be created; ``NerprobeError`` otherwise. For
    shared folders (a generation cache) that may hold anything."""
    p = Path(path).expanduser()
    _check_name_length(p, str(path))
    if p.exists() and not p.is_dir():
        raise NerprobeError(f"{path}: is a file; the {what} must be a folder")
    if p.exists() and not os.access(p, os.W_OK | os.X_OK):
        raise NerprobeError(f"{path}: cannot write to the {what} (permission denied)")
    if not p.exists():
        _check_parent(p, str(path))
    return p


def check_new_or_same(path, text: str) -> Path:
    """``Path(path)`` when writing ``text`` there loses nothing: the file does not exist or already holds exactly
    ``text`` (a rerun); ``NerprobeError`` otherwise, and for the refusals of :func:`check_output_file`."""
    p = check_output_file(path)
    if p.exists():
        try:
            same = p.read_bytes() == text.encode("utf-8")
        except OSError:
            same = False
        if not same:
            raise NerprobeError(f"{path}: exists with other content; choose another folder (nothing written)")
    return p


def is_nerprobe_output(path, markers: Iterable[str]) -> bool:
    """Whether folder ``path`` was written by nerprobe: it holds one of the ``markers`` files (an adapter's
    ``nerprobe_adapter.json``, a run's ``manifest.json``)."""
    p = Path(path)
    return p.is_dir() and any((p / m).is_file() for m in markers)


@contextlib.contextmanager
def atomic_writer(path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """An open file at a temporary name beside ``path``; on a clean exit it is flushed, synced and renamed onto
    ``path``; on an exception it is removed and ``path`` is left as it was. Missing folders are created."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:64]}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError:
            pass
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_writer`; returns the path."""
    with atomic_writer(path) as fh:
        fh.write(text)
    return Path(path)


def check_run_dir(path, inputs: Iterable = (), *, marker: str = "manifest.json", what: str = "run folder",
                  parts: Iterable[str] = ()) -> Path:
    """:func:`check_output_dir`, and an existing non-empty folder must hold ``marker`` (a run nerprobe wrote, to
    resume or replace) or nothing but the run's own ``parts`` (a run stopped before its manifest was written): a
    folder of the user's own files is never written into."""
    p = check_output_dir(path, inputs, what=what)
    if p.is_dir() and not (p / marker).is_file():
        foreign = [e.name for e in p.iterdir() if e.name not in set(parts)]
        if foreign:
            raise NerprobeError(f"{path}: not empty and not a nerprobe {what} (no {marker}, and it holds "
                                f"{quote(foreign[0])}); choose a new folder")
    return p
