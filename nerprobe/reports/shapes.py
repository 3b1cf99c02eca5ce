"""Run files of the wrong shape become one-line errors before a report is drawn.

A run directory's JSON files are read as dicts (``runs.load_run``); what lies inside them is read by the frame,
table and findings builders. A hand-edited or foreign file (``scores.json`` mapping a predictor to a string, a
string where ``comparisons`` holds a list) would raise ``TypeError``/``KeyError`` deep inside pandas. Here every
builder is run on each run alone first, and such a failure is reported as ``InputError`` naming the run's files.
"""

from __future__ import annotations

from nerprobe.errors import InputError
from nerprobe.reports import compare_report, findings, frames, tables
from nerprobe.reports.runs import MEMORIZATION, Run
from nerprobe.safe_io import quote

#: Builders that read a run's results, each on a list of runs.
_READERS = (
    frames.probe_f1, frames.strata_recall, frames.indicators, frames.beyond_form, frames.type_swaps,
    frames.pair_lookup, frames.memorization_comparisons, frames.retention_rows, frames.learning_forgetting,
    tables.build_tables, findings.findings, findings.headline_table, compare_report.systems_frame,
    compare_report.tests_frame, compare_report.compare_f1_table, compare_report.compare_tests_table,
    compare_report.compare_findings,
)
_SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError)


def check_run_shapes(runs: list[Run]) -> None:
    """Raise ``InputError`` naming the run's result files when a builder cannot read one run alone; returns None
    when every run has the shape the report reads."""
    for run in runs:
        for build in _READERS:
            try:
                build([run])
            except _SHAPE_ERRORS as err:
                files = "scores.json or stats.json" if run.kind == MEMORIZATION else "stats.json"
                raise InputError(str(run.path), None, f"{files} has an unexpected shape ({type(err).__name__}: "
                                                      f"{quote(str(err), 120)} while reading it for "
                                                      f"{build.__name__}); not a run this nerprobe wrote?") from None
