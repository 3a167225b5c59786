"""``python -m fulian_eval`` runs the command line."""

from .cli import main

raise SystemExit(main())
