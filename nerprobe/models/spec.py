"""A model spec: a base model (hub id or local directory), an optional adapter and how to load them.

Its own module so that loading (``models.loading``) needs nothing of the alias registry: the registry builds the
embedded tiny model, whose training loads models, and an import of the registry from loading would close a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nerprobe.errors import InputError


@dataclass(frozen=True)
class ModelSpec:
    """A base model (hub id or local directory), an optional LoRA adapter directory and how to load them."""

    base: str
    adapter: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    alias: str | None = None

    @property
    def base_is_local(self) -> bool:
        """True when ``base`` is a local directory (else a hub id)."""
        return Path(self.base).expanduser().is_dir()

    def describe(self) -> str:
        """One line: ``alias (base + adapter)``."""
        s = self.base + (f"@{self.revision}" if self.revision else "") + (f" + {self.adapter}" if self.adapter else "")
        return f"{self.alias} ({s})" if self.alias else s


def bad_value(field: str, message: str) -> InputError:
    """An error about the value given for the library parameter ``field`` (``model``, ``adapter``, ``dtype``): the
    message does not name a command-line flag; the CLI puts its own option in front (``cli.common``)."""
    return InputError(None, None, message, field=field)
