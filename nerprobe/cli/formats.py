"""``probe formats ...``: render corpora as SFT data in one of the five output formats."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from nerprobe.cli.common import console, one_line_errors, styled
from nerprobe.errors import OptionError

app = typer.Typer(help="The five generative output formats.", no_args_is_help=True)

_SYMBOLIZE = ("with-definitions", "symbols-only")
_SUFFIX = {"with-definitions": "-se", "symbols-only": "-so"}


@app.command("convert")
@one_line_errors
def convert(
    corpus: Path = typer.Argument(..., help="Corpus file (CoNLL, JSONL, GENIA XML, alpaca JSON)."),
    format: str = typer.Option(..., "--format", help="bracketed, xml, json, occurrence_index or offset_json."),
    out: Path = typer.Option(..., "--out", help="Output folder (the alpaca file and dataset_info.json go here)."),
    labels: Optional[str] = typer.Option(
        None, "--labels", help="conll2003, wnut17, genia, a label-set JSON file or comma-separated labels "
        "(default: matched to the corpus)."
    ),
    name: Optional[str] = typer.Option(None, "--name", help="Dataset name (file stem); default CORPUS_FORMAT_alpaca."),
    symbolize: Optional[str] = typer.Option(
        None, "--symbolize", help="Rename labels A, B, C, ...: with-definitions (like -se) or symbols-only (-so)."
    ),
    lenient: bool = typer.Option(False, "--lenient", help="Skip unreadable corpus records (and say how many)."),
) -> None:
    """Write CORPUS as LLaMA-Factory alpaca SFT data in one output format, plus its dataset_info.json entry."""
    from nerprobe.data.io import read_corpus
    from nerprobe.formats.labels import resolve_label_set
    from nerprobe.formats import get_format
    from nerprobe.formats.alpaca import write_alpaca
    from nerprobe.safe_io import check_file_name, check_output_file

    get_format(format)
    if symbolize is not None and symbolize not in _SYMBOLIZE:
        raise OptionError("--symbolize", f"choose one of {', '.join(_SYMBOLIZE)}")
    if name is not None:
        check_file_name(name, "--name")
    stem = name or f"{corpus.stem}{_SUFFIX.get(symbolize, '')}_{format}_alpaca"
    path = out / f"{stem}.json"
    inputs = [corpus, labels if labels and Path(labels).exists() else None]
    check_output_file(path, inputs)
    check_output_file(out / "dataset_info.json", inputs)
    data = read_corpus(corpus, lenient=lenient)
    labelset = resolve_label_set(labels, data.labels)
    missing = sorted(set(data.labels) - set(labelset.names))
    if missing:
        raise OptionError("--labels", f"the corpus uses labels outside the label set: {', '.join(missing)}")
    sentences = list(data)
    if symbolize is not None:
        labelset, mapping = labelset.symbolized(with_definitions=symbolize == "with-definitions")
        sentences = [
            s.with_entities(type(e)(e.start, e.end, mapping[e.label]) for e in s.entities) for s in sentences
        ]
    write_alpaca(sentences, path, format, labelset)
    n_ent = sum(len(s.entities) for s in sentences)
    console.print(f"wrote {len(sentences)} records ({n_ent} entities) in format {format} to {path}", highlight=False,
                  soft_wrap=True)
    console.print(f"dataset_info.json entry: {stem}", highlight=False, soft_wrap=True)
    if symbolize is not None:
        console.print("labels: " + ", ".join(f"{k}={v}" for k, v in mapping.items()), highlight=False)
    if data.skipped:
        console.print(styled(f"skipped {len(data.skipped)} unreadable records (--lenient)", "yellow"))
