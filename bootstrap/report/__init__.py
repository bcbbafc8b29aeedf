"""The comparison report: per-seed numbers collected from a finished experiment (`collect`), folded
over seeds with baselines and verdicts (`aggregate`, `stats`), figures with error bars (`figures`),
report.md (`markdown`). Reads stage folders and JSON only; imports only the substrate (`labelers.corpus`)."""
