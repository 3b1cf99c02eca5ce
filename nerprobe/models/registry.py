"""Model specs: what ``--model`` (an alias, a hub id or a local path) and ``--adapter`` name.

Aliases are data, not code: ``nerprobe/models/aliases.toml`` ships with the package and a user file
(``$NERPROBE_ALIASES``, else ``$XDG_CONFIG_HOME/nerprobe/aliases.toml`` or ``~/.config/nerprobe/aliases.toml``)
adds or overrides aliases. An alias may bundle a base model with an adapter. Resolving checks names only; whether
the files exist and fit together is checked by ``nerprobe.models.loading.check_spec`` before any weight is read.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path

from nerprobe.errors import InputError, NerprobeError
from nerprobe.models import tiny
from nerprobe.models.spec import ModelSpec, bad_value  # noqa: F401  (re-exported: callers import them from here)

BUILTIN_PREFIX = "builtin:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_ALIAS_KEYS = {"base", "adapter", "revision", "trust_remote_code", "description"}


def user_alias_file() -> Path:
    """The user's alias file: ``$NERPROBE_ALIASES``, else ``$XDG_CONFIG_HOME/nerprobe/aliases.toml`` (or ~/.config)."""
    env = os.environ.get("NERPROBE_ALIASES")
    if env:
        return Path(env).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "nerprobe" / "aliases.toml"


def _read_alias_file(text: str, source: str) -> dict[str, dict]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise NerprobeError(f"{source}: not valid TOML: {err}") from None
    out: dict[str, dict] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or "base" not in entry:
            raise NerprobeError(f"{source}: alias [{name}] needs a table with a 'base' key")
        unknown = set(entry) - _ALIAS_KEYS
        if unknown:
            raise NerprobeError(f"{source}: alias [{name}] has unknown keys {sorted(unknown)} (known: {sorted(_ALIAS_KEYS)})")
        out[name] = dict(entry)
    return out


def load_aliases(user_file: Path | None = None) -> dict[str, dict]:
    """All aliases: the shipped ones, then the user file's (which add or replace whole entries).

    Returns ``{alias: {"base": ..., "adapter"?: ..., "revision"?: ..., "trust_remote_code"?: ..., "description"?: ...}}``.
    """
    shipped = resources.files("nerprobe.models").joinpath("aliases.toml").read_text(encoding="utf-8")
    aliases = _read_alias_file(shipped, "nerprobe/models/aliases.toml")
    path = user_file if user_file is not None else user_alias_file()
    if path.is_file():
        aliases.update(_read_alias_file(path.read_text(encoding="utf-8"), str(path)))
    elif os.environ.get("NERPROBE_ALIASES") and user_file is None:
        raise NerprobeError(f"$NERPROBE_ALIASES: alias file {path} does not exist")
    return aliases


def _builtin(name: str, format_name: str) -> str:
    """The local path of an embedded model (``builtin:tiny-base`` / ``builtin:tiny-adapter``), built on first use."""
    if name == "tiny-base":
        return str(tiny.ensure_tiny_base())
    if name == "tiny-adapter":
        return str(tiny.ensure_tiny_adapter(format_name=format_name))
    raise NerprobeError(f"unknown builtin model '{BUILTIN_PREFIX}{name}' (known: tiny-base, tiny-adapter)")


def _expand(value: str | None, format_name: str) -> str | None:
    if value is None:
        return None
    if value.startswith(BUILTIN_PREFIX):
        return _builtin(value[len(BUILTIN_PREFIX) :], format_name)
    return value


def looks_like_path(name: str) -> bool:
    """True when ``name`` is written as a path (absolute, ``./``, ``~``, or more than one ``/``) rather than a hub id."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def resolve(model: str, adapter: str | None = None, *, format_name: str = "xml") -> ModelSpec:
    """The ``ModelSpec`` that ``--model`` and ``--adapter`` name.

    ``model`` is an alias, an existing local directory or a hub id (``org/name``); an explicit ``adapter`` replaces
    an adapter bundled with the alias. ``format_name`` picks the demo adapter of the ``tiny`` alias. Raises
    ``NerprobeError`` (one line) for a name that is none of these.
    """
    if not model or not model.strip():
        raise bad_value("model", "empty model name")
    aliases = load_aliases()
    if model in aliases:
        entry = aliases[model]
        return ModelSpec(
            base=_expand(entry["base"], format_name),
            adapter=adapter if adapter is not None else _expand(entry.get("adapter"), format_name),
            revision=entry.get("revision"),
            trust_remote_code=bool(entry.get("trust_remote_code", False)),
            alias=model,
        )
    path = Path(model).expanduser()
    if path.is_dir():
        return ModelSpec(base=str(path.resolve()), adapter=adapter)
    if looks_like_path(model) or path.exists():
        raise bad_value("model", f"model directory {model} does not exist")
    if _HUB_ID.match(model):
        return ModelSpec(base=model, adapter=adapter)
    raise bad_value("model", f"'{model}' is not an alias ({', '.join(sorted(aliases))}), a local directory or a hub id "
               "(org/name)")
