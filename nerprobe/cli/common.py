"""What every command shares: the consoles and the one-line error handling.

Both consoles print text literally (``markup=False``): file names, labels and model outputs may hold ``[bold]`` or
``[/red]``, which must reach the user as written. Styled parts are built with :func:`styled` (a ``rich.text.Text``)
instead of markup strings.
"""

from __future__ import annotations

import functools
import sys

from rich.console import Console
from rich.text import Text

from nerprobe.errors import InputError, NerprobeError

console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


def styled(text: str, style: str) -> Text:
    """``text`` shown literally in ``style`` (for table cells and messages; never parsed as markup)."""
    return Text(str(text), style=style)


def warn(message: str) -> None:
    """Print ``warning: <message>`` on stderr, the message literally."""
    err_console.print(Text.assemble(("warning:", "yellow"), " ", str(message)), highlight=False, soft_wrap=True)


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
    "rank": "--rank", "alpha": "--alpha", "dropout": "--dropout", "learning_rate": "--lr", "epochs": "--epochs",
    "batch_size": "--batch-size", "grad_accum": "--grad-accum", "max_length": "--max-length",
    "warmup_ratio": "--warmup", "lr_scheduler": "--scheduler", "symbolize": "--symbolize",
}


def one_line_errors(fn=None, *, hints: dict[str, str] | None = None):
    """Decorate a command so that a ``NerprobeError`` prints ``error: <message>`` on one stderr line and exits 2.

    ``hints`` maps an ``InputError.field`` (a reader parameter) to the text appended for this command, e.g.
    ``{"tag_column": "pass --tag-column N"}``.
    """
    if fn is None:  # used as @one_line_errors(hints={...})
        return functools.partial(one_line_errors, hints=hints)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NerprobeError as err:
            message = str(err)
            if isinstance(err, InputError) and err.field in OPTION_OF_FIELD:
                message = f"{OPTION_OF_FIELD[err.field]}: {message}"
            if hints and isinstance(err, InputError) and err.field in hints:
                message += f" ({hints[err.field]})"
            _print_error(message)
            sys.exit(2)
        except OSError as err:  # the disk or the file system refused: name the file, no traceback
            where = f"{err.filename}: " if err.filename else ""
            _print_error(f"{where}{err.strerror or err}")
            sys.exit(2)

    return wrapper
