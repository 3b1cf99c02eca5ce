"""General benchmarks before and after NER tuning, through lm-evaluation-harness."""
