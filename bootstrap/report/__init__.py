"""The comparison report: numbers collected from a finished experiment, figures, report.md."""
