"""The ``probe`` command line. It stays thin: each sub-module parses options, calls the library, prints.

Every ``NerprobeError`` (bad input, bad option) is printed as one line and exits with status 2.

Sub-commands are imported when they are asked for (``probe score`` imports the scoring command only, not the
memorization command's probe registry): ``_SUBCOMMANDS`` names each one's module; ``probe --help``, a misspelt
name and shell completion import them all.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import MutableMapping

import typer
from typer.core import TyperGroup

#: name -> (module under nerprobe.cli, how it is added): "register" (the module's register(app) adds it),
#: "app" (the module's typer app as a group) or the name of the module's command function. In the order of
#: ``probe --help`` (typer lists single commands before groups).
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "score": ("score", "score"),
    "compare": ("compare", "register"),
    "generate": ("models", "register"),
    "models": ("models", "register"),
    "train": ("train", "register"),
    "retention": ("retention", "register"),
    "memorization": ("memorization", "register"),
    "report": ("report", "register"),
    "demo": ("demo", "register"),
    "data": ("data", "app"),
    "formats": ("formats", "app"),
}


def _subcommands(name: str) -> dict:
    """The click commands the module of sub-command ``name`` adds, by name (built as the eager app built them)."""
    module_name, how = _SUBCOMMANDS[name]
    module = importlib.import_module(f"nerprobe.cli.{module_name}")
    part = typer.Typer()
    if how == "register":
        module.register(part)
    elif how == "app":
        part.add_typer(module.app, name=name)
    else:
        part.command(name)(getattr(module, how))

    @part.callback()
    def _group() -> None:  # a callback keeps a lone command a sub-command of the group
        pass

    return dict(typer.main.get_group(part).commands)


class _LazyCommands(MutableMapping):
    """The group's commands by name: a sub-command's module is imported when the command is looked up by name
    (``probe score``), all of them when the commands are listed (``probe --help``, suggestions for a misspelt
    name, code that walks the app). Listed in the order of ``_SUBCOMMANDS``, then any other added."""

    def __init__(self, commands):
        self._commands = dict(commands)

    def _load(self, name: str) -> None:
        if name in _SUBCOMMANDS and name not in self._commands:
            self._commands.update(_subcommands(name))

    def _load_all(self) -> None:
        for name in _SUBCOMMANDS:
            self._load(name)

    def __getitem__(self, name):
        self._load(name)
        return self._commands[name]

    def __contains__(self, name) -> bool:
        self._load(name)
        return name in self._commands

    def __setitem__(self, name, command) -> None:
        self._commands[name] = command

    def __delitem__(self, name) -> None:
        self._load(name)
        del self._commands[name]

    def __iter__(self):
        self._load_all()
        order = {n: i for i, n in enumerate(_SUBCOMMANDS)}
        return iter(sorted(self._commands, key=lambda n: order.get(n, len(order))))

    def __len__(self) -> int:
        self._load_all()
        return len(self._commands)


class _LazyGroup(TyperGroup):
    """The ``probe`` group, its commands made on first use (typer builds each command's options, with their
    pydantic coercion, when it turns the app into a click group: a command never asked for costs nothing)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands)


app = typer.Typer(cls=_LazyGroup, help="Probe LLMs fine-tuned for NER: memorization, retention, reports.",
                  no_args_is_help=True)


def _version(value: bool) -> None:
    """``probe --version``: print nerprobe's version and those of the libraries that decide its numbers, then exit."""
    if value:
        from nerprobe.provenance import versions

        found = versions()
        rest = ", ".join(f"{k} {v}" for k, v in found.items() if k != "nerprobe")
        typer.echo(f"nerprobe {found.get('nerprobe', 'unknown')}" + (f" ({rest})" if rest else ""))
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version of nerprobe (and of torch, transformers, peft, lm-eval)"),
) -> None:
    """nerprobe: does the tuned model read or recall, and what did tuning cost it?"""
    # our own rich progress bars say what runs; the libraries' per-file bars and deprecation notices only hide them
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
