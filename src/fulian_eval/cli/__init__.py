"""The ``fulian-eval`` command line."""

from __future__ import annotations

import sys

from .app import main

__all__ = ["main", "run"]


def run() -> int:
    """The ``fulian-eval`` process: :func:`main` on ``sys.argv``, with pandas kept unseen.

    pyarrow imports pandas (0.3–0.4 s) the first time it turns a Python value into an array,
    only to ask whether the value is a pandas object; the command line never hands it one,
    and a table worker forked before that would import it again on its own. So in this
    process (not in a library caller's, where :func:`main` is used) pandas is not
    importable: pyarrow then takes values as the plain Python or numpy values they are.
    """
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())
    return main()


class _NoPandas:
    """An import finder that makes ``import pandas`` fail as if it were not installed (a
    ``None`` in ``sys.modules`` would not do: Cython's import hands pyarrow the ``None``)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(
                f"No module named {name!r} (not used by fulian-eval)", name=name
            )
