"""The memorization run: probe sets from the registry (``nerprobe.probes.registry``), predictions of the models and
the controls, indicators with CIs and the declared family of paired tests, written to a run directory."""
