"""The ``fulian-eval`` command line."""

from .app import main

__all__ = ["main"]
