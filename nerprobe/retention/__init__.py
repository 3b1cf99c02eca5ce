"""General benchmarks before and after NER tuning, through lm-evaluation-harness, compared item by item.

- ``run.plan_retention(model, adapters, tasks, settings, out_dir, data_dir=None)`` checks models, adapters, tasks
  and data and loads the task data, before any model is loaded; ``run.run_retention(plan)`` evaluates (resuming),
  pairs and tests, and writes the run directory.
- ``harness``: lm-eval task loading, seeded item subsets, ``EvalSettings``; ``pairing``: per-item records from
  lm-eval's sample logs and their pairing by document; ``compare``: McNemar / paired bootstrap with Holm;
  ``answers``: length and form of generated answers; ``suite`` and ``tasks/``: the bundled offline tasks
  (``local_mmlu``, ``local_gsm8k``, ``demo_entity_type``, ``demo_completion``); ``demo_tasks``: their demo data.
"""
