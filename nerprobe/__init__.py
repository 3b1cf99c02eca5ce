"""nerprobe: memorization and retention probes for LLMs fine-tuned for named entity recognition."""

__version__ = "0.1.0"
