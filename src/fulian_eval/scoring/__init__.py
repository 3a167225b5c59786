"""Scoring: the exact per-unit engine, the columnar plan, and the pipelines that feed them.

:mod:`.exact` is the reference; :mod:`.columnar` gives the very same results over
columns; :mod:`.stream` streams tables through the plan in chunks and
:mod:`.parallel` spreads per-unit work over processes.
"""
