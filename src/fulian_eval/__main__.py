"""``python -m fulian_eval`` runs the command line."""

from .cli import run

raise SystemExit(run())
