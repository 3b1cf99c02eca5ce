"""Probe sets out to any engine, outputs back in: the way generation scales past one machine.

- ``export_probe_sets`` (``nerprobe.exchange.export``) writes every probe set as LLaMA-Factory data (an alpaca JSON
  per set and ``dataset_info.json``), the same prompts as JSONL for vLLM ``LLM.generate``/``LLM.chat`` or any other
  engine, and a manifest (probe seeds, label sets, format, chat template, the decoding to use).
- ``read_predictions`` (``nerprobe.exchange.outputs``) reads the outputs back (LLaMA-Factory
  ``generated_predictions.jsonl``, or JSONL with ``id`` + ``output``), paired with the probe items by id or prompt;
  ``ImportedPredictor`` serves them to the memorization run like any other predictor.
- ``probe_requests`` (``nerprobe.exchange.requests``): the requests of a probe set, exactly as a run builds them.
"""

from nerprobe.exchange.export import export_probe_sets
from nerprobe.exchange.outputs import ImportedPredictor, import_predictor, read_predictions
from nerprobe.exchange.requests import probe_requests, set_labelset

__all__ = ["export_probe_sets", "read_predictions", "import_predictor", "ImportedPredictor", "probe_requests",
           "set_labelset"]
