"""Reading what offices have: rulebook TOML (with tailoring), evidence files and tables, waivers.

:mod:`.tables` reads every input file (bounded, regular files only, encodings
detected); :mod:`.load` builds a :class:`~fulian_eval.model.rulebook.Rulebook`;
:mod:`.evidence` builds evidence records from TOML files and table rows.
"""
