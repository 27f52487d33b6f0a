"""allocmark's HTML report: loading, the cell model, charts and the page.

scripts/report.py is the entry point; each module here owns one concern."""
