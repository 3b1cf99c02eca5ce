"""What every command shares: the consoles and the one-line error handling."""

from __future__ import annotations

import functools
import sys

from rich.console import Console

from nerprobe.errors import NerprobeError

console = Console()
err_console = Console(stderr=True)


def one_line_errors(fn):
    """Decorate a command so that a ``NerprobeError`` prints ``error: <message>`` on stderr and exits 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NerprobeError as err:
            err_console.print(f"[red]error:[/red] {err}", highlight=False, markup=True, soft_wrap=True)
            sys.exit(2)

    return wrapper
