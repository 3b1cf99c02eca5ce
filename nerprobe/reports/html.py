"""The self-contained HTML report: figures embedded as base64 PNG, no script, no network access.

Layout: summary of findings (with CIs and tests), the figures, each probe (its table and sample model outputs),
each retention task, the signatures, then every run's manifest. Everything shown goes through jinja2's autoescape:
model outputs are untrusted text, and so are names read from run directories.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jinja2

from nerprobe.reports.figures import Figure, Skipped
from nerprobe.reports.runs import MEMORIZATION, Run
from nerprobe.reports.tables import Table

SAMPLE_PROBES = ("coverage", "unseen-entities", "type-swaps", "swapped-labels-symbols", "pair-lookup")

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<link rel="icon" href="data:,">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .85rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: right; vertical-align: top; }
th { border-bottom: 2px solid #555; } td:first-child, th:first-child { text-align: left; }
.notes { font-size: .8rem; color: #444; } code, pre { font-size: .78rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
figure { margin: 1rem 0; } figure img { max-width: min(100%, 860px); height: auto; border: 1px solid #eee; }
.scroll { max-width: 100%; overflow-x: auto; } code { overflow-wrap: anywhere; }
figcaption { font-size: .85rem; color: #444; } .findings li { margin: .3rem 0; }
.output { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; text-align: left; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="sub">Built from {{ runs|length }} run director{{ 'y' if runs|length == 1 else 'ies' }} alone (no model loaded,
nothing regenerated){% if created %}, {{ created }}{% endif %}. {{ note }}</p>

{% macro render_table(t) %}
<h3 id="tab-{{ t.name }}">{{ t.title }}</h3>
<div class="scroll"><table><thead><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in t.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</tbody></table></div>
<div class="notes">{% for n in t.notes %}<div>{{ n }}</div>{% endfor %}
{% for k, s in t.keys.items() %}<div>[{{ k }}] <code>{{ s }}</code></div>{% endfor %}</div>
{% endmacro %}
<h2 id="findings">Summary of findings</h2>
{% if headline %}{{ render_table(headline) }}{% endif %}
{% if findings %}<ul class="findings">{% for f in findings %}<li>{{ f }}</li>{% endfor %}</ul>
{% else %}<p>No finding: the runs hold no comparison.</p>{% endif %}

<h2 id="figures">Figures</h2>
{% for f in figures %}
<figure id="fig-{{ f.name }}"><img alt="{{ f.name }}" src="data:image/png;base64,{{ f.png64 }}">
<figcaption><b>{{ f.name }}.</b> {{ f.caption }} Files: {{ f.files }}.{% if f.signatures %} Signatures:
{% for s in f.signatures %}<code>{{ s }}</code>{% if not loop.last %}; {% endif %}{% endfor %}{% endif %}</figcaption></figure>
{% endfor %}
{% if skipped %}<p class="notes">Not drawn: {% for s in skipped %}{{ s.name }} ({{ s.reason }}){% if not loop.last %}; {% endif %}{% endfor %}.</p>{% endif %}


<h2 id="probes">Memorization probes</h2>
{% for t in probe_tables %}{{ render_table(t) }}{% else %}<p>No memorization run.</p>{% endfor %}
{% for s in samples %}
<h3>Sample outputs: {{ s.run }} · {{ s.predictor }} · {{ s.probe }}</h3>
<table><thead><tr><th>id</th><th>parse</th><th>model output (untrusted, shown escaped)</th></tr></thead><tbody>
{% for g in s.rows %}<tr><td>{{ g.id }}</td><td>{{ g.status }}</td><td class="output">{{ g.output }}</td></tr>{% endfor %}
</tbody></table>
{% endfor %}

{% if compare_tables %}<h2 id="compare">Systems compared</h2>
{% for t in compare_tables %}{{ render_table(t) }}{% endfor %}{% endif %}
<h2 id="retention">Retention tasks</h2>
{% for t in retention_tables %}{{ render_table(t) }}{% else %}<p>No retention run.</p>{% endfor %}

<h2 id="manifest">Manifests (to reproduce)</h2>
{% for r in runs %}
<h3>{{ r.name }} ({{ r.kind }})</h3>
<p class="notes">directory: <code>{{ r.path }}</code>; command: <code>{{ r.command }}</code></p>
<pre>{{ r.manifest }}</pre>
{% endfor %}
</body>
</html>
"""


def _env() -> jinja2.Environment:
    # autoescape=True for every template: nothing reaches the page unescaped
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def render_html(runs: list[Run], findings: list[str], figures: list[Figure], skipped: list[Skipped],
                tables: list[Table], *, title: str = "nerprobe report", note: str = "",
                created: str | None = None, n_samples: int = 5, headline: Table | None = None) -> str:
    """The whole page as a string (figures read from their PNG files and embedded); ``headline`` is shown with the
    findings."""
    figs = [{"name": f.name, "caption": f.caption, "signatures": f.signatures,
             "files": ", ".join(f"figures/{p.name}" for p in f.paths.values())
             + "".join(f", {p.parent.name}/{p.name}" for p in f.column_paths.values()),
             "png64": base64.b64encode(f.paths["png"].read_bytes()).decode("ascii")} for f in figures]
    samples = []
    for r in runs:
        if r.kind != MEMORIZATION:
            continue
        preds = [p for p in ("model", "baseline") if p in r.scores] or list(r.scores)[:1]
        for pred in preds:
            for probe in SAMPLE_PROBES:
                items = r.sample_generations(pred, probe, n_samples)
                if items:
                    samples.append({"run": r.name, "predictor": pred, "probe": probe,
                                    "rows": [{"id": str(g.get("id", "")), "status": str(g.get("status", "")),
                                               "output": str(g.get("output", ""))} for g in items]})
    run_views = [{"name": r.name, "kind": r.kind, "path": str(r.path), "command": str(r.manifest.get("command", "")),
                  "manifest": json.dumps(r.manifest, indent=2, ensure_ascii=False, default=str)} for r in runs]
    probe_names = {"memorization", "probe-f1", "comparisons"}
    compare_names = {"compare-f1", "compare-tests"}
    return _env().from_string(TEMPLATE).render(
        title=title, note=note, created=created, findings=findings, headline=headline, figures=figs, skipped=skipped,
        probe_tables=[t for t in tables if t.name in probe_names],
        compare_tables=[t for t in tables if t.name in compare_names],
        retention_tables=[t for t in tables if t.name not in probe_names | compare_names], samples=samples,
        runs=run_views,
    )


def write_html(path: Path, text: str) -> Path:
    """Write the page (under a temporary name, renamed into place); returns its path."""
    from nerprobe.safe_io import atomic_write_text

    return atomic_write_text(path, text)
