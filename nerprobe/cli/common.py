"""What every command shares: the consoles and the one-line error handling.

Both consoles print text literally (``markup=False``): file names, labels and model outputs may hold ``[bold]`` or
``[/red]``, which must reach the user as written. Styled parts are built with :func:`styled` (a ``rich.text.Text``)
instead of markup strings.
"""

from __future__ import annotations

import atexit
import functools
import gc
import sys
from typing import TYPE_CHECKING

from nerprobe.errors import InputError, NerprobeError

if TYPE_CHECKING:
    from rich.text import Text


class _LazyConsole:
    """A ``rich.console.Console(**options)`` made on first use, every attribute passed on to it.

    Importing rich's console takes some 25 ms, a tenth of ``probe score --json``'s own imports, and that command
    prints through ``typer.echo`` only (unless it warns): the console is made when something is printed with it.
    A Console reads its settings from the environment (``COLUMNS``, ``NO_COLOR``, ``TERM`` ...) when made and writes
    to ``sys.stdout`` / ``sys.stderr`` as they are when it prints; nerprobe changes none of those settings, so made
    later it prints the same."""

    def __init__(self, **options):
        self._options = options
        self._console = None

    def _get(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_options", "_console"):  # not set yet (copy, pickle): no Console
            raise AttributeError(name)
        return getattr(self._get(), name)


console = _LazyConsole(markup=False)
err_console = _LazyConsole(stderr=True, markup=False)


_FREEZE_AT_EXIT = [False]


def freeze_heap_at_exit() -> None:
    """Let the interpreter's exit skip walking this process's heap: ``gc.freeze`` run as an atexit handler moves
    every object to the permanent generation, which the cyclic collections of the interpreter's finalization do not
    visit (measured: ~0.3 s less after a CoNLL-2003 lookup memorization run, ~30 ms after ``probe score``).

    For commands whose outputs are written and closed when they return. Every object is still freed and every other
    atexit handler still runs; only cyclic garbage left at exit is not finalized. Not when torch is loaded: a model's
    CUDA or shared-memory resources may be released by finalizers of such garbage. Registered once per process (an
    in-process caller, such as a test, gets it at its own exit only)."""
    if _FREEZE_AT_EXIT[0] or "torch" in sys.modules:
        return
    _FREEZE_AT_EXIT[0] = True
    atexit.register(gc.freeze)


def styled(text: str, style: str) -> Text:
    """``text`` shown literally in ``style`` (for table cells and messages; never parsed as markup)."""
    from rich.text import Text

    return Text(str(text), style=style)


def warn(message: str) -> None:
    """Print ``warning: <message>`` on stderr, the message literally."""
    from rich.text import Text

    err_console.print(Text.assemble(("warning:", "yellow"), " ", str(message)), highlight=False, soft_wrap=True)


#: Help text of every hidden deprecated alias (the flag-convention test knows an alias by it).
DEPRECATED_HELP = "Deprecated alias of {new}."


def deprecated_alias(old: str, new: str, *, flag: bool = False):
    """A hidden option ``old``: the former name of ``new``, kept so that old command lines still run.

    Used, it warns once on stderr (``warning: OLD is deprecated: use NEW``); the command puts its value in place of
    ``new``'s with :func:`take_alias`. ``flag`` makes it an on/off flag like ``new``.
    """
    import typer

    def _warn(value):
        if value is not None and value is not False:
            warn(f"{old} is deprecated: use {new}")
        return value

    return typer.Option(False if flag else None, old, hidden=True, callback=_warn,
                        help=DEPRECATED_HELP.format(new=new))


def take_alias(value, old_value, old: str, new: str):
    """``old_value`` when the deprecated ``old`` was given, else ``value`` (that of ``new``, whose default must be
    ``None`` so that giving both can be told: that is an error naming the two)."""
    from nerprobe.errors import OptionError

    if old_value is None or old_value is False:
        return value
    if value is not None and value is not False:
        raise OptionError(new, f"given twice, as {new} and as its deprecated alias {old}: keep {new}")
    return old_value


#: Longest error line printed; a message that quotes a whole huge input line is cut in the middle.
MAX_ERROR_CHARS = 1000


def one_line(message: str) -> str:
    """``message`` on one line: line breaks inside it (from a quoted value) shown as ``\\n``, and at most
    :data:`MAX_ERROR_CHARS` characters (the start, which names the file, and the end, which says why)."""
    text = str(message).replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > MAX_ERROR_CHARS:
        half = MAX_ERROR_CHARS // 2
        text = f"{text[:half]} …({len(text) - 2 * half} characters cut)… {text[-half:]}"
    return text


def _print_error(message: str) -> None:
    from rich.text import Text

    err_console.print(Text.assemble(("error:", "red"), " ", one_line(message)), highlight=False, soft_wrap=True)


#: The option every command gives a library parameter: an ``InputError`` whose ``field`` is one of these is printed
#: as ``--option: message`` (the library names the parameter, never a flag).
OPTION_OF_FIELD = {
    "model": "--model", "adapter": "--adapter", "dtype": "--dtype", "labels": "--labels", "train": "--train",
    "test": "--test", "pool": "--pool", "probes": "--probes", "limit": "--limit", "normalize": "--normalize",
    "replacement_source": "--replacement-source", "out": "--out", "tasks": "--tasks", "size": "--size",
    "formats": "--format", "format": "--format", "kind": "--kind", "data_dir": "--data-dir",
    "model_args": "--model_args", "gen_kwargs": "--gen_kwargs", "template": "--template",
    "predictions": "--predictions", "export": "--export", "dev": "--dev", "min_context": "--min-context", "from_lm_eval": "--from-lm-eval",
    # training settings (models.training.TrainConfig fields)
    "rank": "--rank", "alpha": "--lora-alpha", "dropout": "--dropout", "learning_rate": "--lr", "epochs": "--epochs",
    "batch_size": "--batch-size", "grad_accum": "--grad-accum", "max_length": "--max-length",
    "warmup_ratio": "--warmup", "lr_scheduler": "--scheduler", "symbolize": "--symbolize",
}


def one_line_errors(fn=None, *, hints: dict[str, str] | None = None, options: dict[str, str] | None = None):
    """Decorate a command so that a ``NerprobeError`` prints ``error: <message>`` on one stderr line and exits 2.

    ``hints`` maps an ``InputError.field`` (a reader parameter) to the text appended for this command, e.g.
    ``{"tag_column": "pass --tag-column N"}``; ``options`` overrides :data:`OPTION_OF_FIELD` for this command (a field
    that it takes under another flag).
    """
    if fn is None:  # used as @one_line_errors(hints={...})
        return functools.partial(one_line_errors, hints=hints, options=options)
    option_of_field = {**OPTION_OF_FIELD, **(options or {})}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NerprobeError as err:
            message = str(err)
            if isinstance(err, InputError) and err.field in option_of_field:
                message = f"{option_of_field[err.field]}: {message}"
            if hints and isinstance(err, InputError) and err.field in hints:
                message += f" ({hints[err.field]})"
            _print_error(message)
            sys.exit(2)
        except OSError as err:  # the disk or the file system refused: name the file, no traceback
            where = f"{err.filename}: " if err.filename else ""
            _print_error(f"{where}{err.strerror or err}")
            sys.exit(2)

    return wrapper
