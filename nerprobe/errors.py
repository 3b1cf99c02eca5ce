"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations


class NerprobeError(Exception):
    """An error caused by the user's input or options; the CLI prints ``str(err)`` on one line and exits 2."""


class InputError(NerprobeError):
    """Bad input data, located by file and line: ``str()`` gives ``path:line: message``.

    ``field`` optionally names the reader parameter that would fix the read (e.g. ``"tag_column"``), so that the
    CLI can point to its own option without the library naming CLI flags.
    """

    def __init__(self, path: str | None, line: int | None, message: str, *, field: str | None = None):
        self.path = path
        self.line = line
        self.message = message
        self.field = field
        super().__init__(self.location() + message)

    def location(self) -> str:
        """``path:line: `` (or the parts that are known), ready to prefix a message."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "


class OptionError(NerprobeError):
    """A bad command-line option: ``str()`` names the option."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")
