"""``python -m nerprobe`` runs the ``probe`` command line."""

from nerprobe.cli import app

app()
