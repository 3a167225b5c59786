"""The languages a scheme is written in: numbers and units, evidence values, and expressions.

Nothing here knows rulebooks: :mod:`.text` (exact decimal text, CSV cells),
:mod:`.units` (units and their exact factors), :mod:`.values` (a cell as a clerk
writes it: ``1000余``, ``是``, ``a、b``), :mod:`.expr` (the expression language).
"""
