"""The report formats each command writes (its ``--format`` choices), known before any engine loads."""

from __future__ import annotations

__all__ = ["FORMATS", "SAMPLE_FORMATS", "SHEETS_FORMATS"]

#: score, rank, explain, crosscheck: what report.render (and the workbook) write.
FORMATS = ("table", "json", "csv", "markdown", "html", "xlsx")
#: plan and sample (analysis.sampling).
SAMPLE_FORMATS = ("table", "json", "csv")
#: the printable record sheets (cli.sheets).
SHEETS_FORMATS = ("html", "pdf")
