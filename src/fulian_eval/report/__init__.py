"""Reports: scored results as text, CSV, JSON, Markdown, HTML and XLSX."""
