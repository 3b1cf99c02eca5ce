"""``probe data ...``: describe and convert corpora."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nerprobe.cli.common import console, deprecated_alias, one_line_errors, styled, take_alias, warn
from nerprobe.errors import OptionError

app = typer.Typer(help="Read, convert and describe NER corpora.", no_args_is_help=True)

_LENIENT = typer.Option(False, "--lenient", help="Skip bad sentences (and say how many) instead of stopping.")
_SCHEME = typer.Option("auto", "--scheme", help="CoNLL tag scheme: auto, iob1, iob2/bio, iobes/bioes, bilou.")
_TAG_COLUMN = typer.Option(-1, "--tag-column", help="CoNLL column holding the NER tag (0-based; -1 = last).")
_READER = typer.Option(None, "--reader", help="Force the corpus reader: conll, jsonl, genia, alpaca[:FORMAT].")
_OLD_FORMAT = deprecated_alias("--format", "--reader")
#: Reader parameters named in errors → this command's options.
_HINTS = {"tag_column": "pass --tag-column N to read the NER tags from column N", "to": "write JSONL instead: --to jsonl"}
_SPLIT = typer.Option(
    None, "--split", help="GENIA XML/tgz only: keep the train, dev or test documents (lists in genia/splits)."
)


def _read(path: Path, *, lenient: bool, scheme: str, tag_column: int, format_name: str | None, split: str | None):
    """Read one corpus; with ``--split``, GENIA XML/tgz files go through the split-aware reader."""
    from nerprobe.data.io import detect_kind, read_corpus

    if split is not None and (format_name or detect_kind(path)) == "genia":
        from nerprobe.data.genia import read_genia_xml

        return read_genia_xml(path, split=split, lenient=lenient)
    return read_corpus(path, lenient=lenient, scheme=scheme, tag_column=tag_column, format_name=format_name)


def _check_split(files, split: str | None, format_name: str | None) -> None:
    from nerprobe.data.io import detect_kind

    if split is not None and not any(f.is_file() and (format_name or detect_kind(f)) == "genia" for f in files):
        raise OptionError("--split", "applies to the GENIA XML corpus (.tgz or .xml) only")


def _stats_table(name: str, st: dict, skipped: int) -> Table:
    t = Table()
    t.add_column("")
    t.add_column("count", justify="right")
    t.add_row("sentences", str(st["sentences"]))
    t.add_row("documents", str(st["documents"]))
    t.add_row("tokens", str(st["tokens"]))
    t.add_row("entities", str(st["entities"]))
    for label, n in st["entities_by_type"].items():
        t.add_row(f"  {label}", str(n))
    t.add_row("max nesting depth", str(st["max_nesting_depth"]))
    t.add_row("nested entities", str(st["nested_entities"]))
    t.add_row("same span, extra label", str(st["same_span_multi_label"]))
    if skipped:
        t.add_row(styled("skipped (lenient)", "yellow"), str(skipped))
    return t


def _coverage_table(train: str, test: str, cov: dict) -> Table:
    t = Table()
    for col in ("type", "mentions", "same label", "other label only", "unseen"):
        t.add_column(col, justify="left" if col == "type" else "right")

    def row(name, b):
        classes = ("same_label", "other_label_only", "unseen")
        cells = [f"{b['counts'][k]} ({100 * b['shares'][k]:.1f}%)" for k in classes]
        t.add_row(name, str(b["total"]), *cells)

    for label, b in cov["by_type"].items():
        row(label, b)
    row(styled("all", "bold"), cov)
    return t


@app.command("stats")
@one_line_errors(hints=_HINTS, options={"format": "--reader"})
def stats(
    files: List[Path] = typer.Argument(..., help="Corpus files. With two or more, the first is train and the "
                                       "mention coverage of each other file by it is printed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    lenient: bool = _LENIENT,
    scheme: str = _SCHEME,
    tag_column: int = _TAG_COLUMN,
    format_name: Optional[str] = _READER,
    old_format: Optional[str] = _OLD_FORMAT,
    split: Optional[str] = _SPLIT,
) -> None:
    """Sentences, tokens, entities per type, nesting depth; with 2+ files, mention coverage against the first."""
    from nerprobe.data.stats import corpus_stats, mention_coverage

    format_name = take_alias(format_name, old_format, "--format", "--reader")
    _check_split(files, split, format_name)
    corpora = [
        _read(f, lenient=lenient, scheme=scheme, tag_column=tag_column, format_name=format_name, split=split)
        for f in files
    ]
    result = {"files": {}, "coverage": []}
    for f, c in zip(files, corpora):
        st = corpus_stats(c)
        st["skipped"] = len(c.skipped)
        result["files"][str(f)] = st
    for f, c in zip(files[1:], corpora[1:]):
        cov = mention_coverage(corpora[0], c)
        result["coverage"].append({"train": str(files[0]), "test": str(f), **cov})
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    for f, c in zip(files, corpora):
        st = result["files"][str(f)]
        console.print(styled(str(f), "bold"), highlight=False, soft_wrap=True)
        console.print(_stats_table(str(f), st, st["skipped"]))
        if c.skipped:
            warn(f"{f}: skipped {len(c.skipped)} bad sentence(s); first: {c.skipped[0]}")
    for cov in result["coverage"]:
        console.print(styled(f"mention coverage of {cov['test']} by {cov['train']}", "bold"), highlight=False,
                      soft_wrap=True)
        console.print(_coverage_table(cov["train"], cov["test"], cov))


@app.command("convert")
@one_line_errors(hints=_HINTS, options={"format": "--reader"})
def convert(
    src: Path = typer.Argument(..., help="Input corpus (CoNLL, JSONL, GENIA XML/tgz, alpaca JSON)."),
    dst: Path = typer.Argument(..., help="Output file."),
    to: Optional[str] = typer.Option(None, "--to", help="jsonl or conll (default: from OUT's suffix; "
                                     ".jsonl/.jsonlines/.json → jsonl, else conll)."),
    out_scheme: str = typer.Option("iob2", "--out-scheme", help="Tag scheme of CoNLL output."),
    lenient: bool = _LENIENT,
    scheme: str = _SCHEME,
    tag_column: int = _TAG_COLUMN,
    format_name: Optional[str] = _READER,
    old_format: Optional[str] = _OLD_FORMAT,
    split: Optional[str] = _SPLIT,
) -> None:
    """Convert a corpus to nerprobe JSONL (any nesting) or CoNLL (flat only)."""
    from nerprobe.safe_io import check_output_file

    if to is None:
        to = "jsonl" if dst.suffix.lower() in (".jsonl", ".jsonlines", ".json", ".ndjson") else "conll"
    if to not in ("jsonl", "conll"):
        raise OptionError("--to", f"unknown output format {to!r}; use jsonl or conll")
    check_output_file(dst, [src])
    format_name = take_alias(format_name, old_format, "--format", "--reader")
    _check_split([src], split, format_name)
    corpus = _read(src, lenient=lenient, scheme=scheme, tag_column=tag_column, format_name=format_name, split=split)
    if to == "jsonl":
        from nerprobe.data.jsonl import write_jsonl

        write_jsonl(corpus.sentences, dst)
    else:
        from nerprobe.data.conll import write_conll

        write_conll(corpus.sentences, dst, scheme=out_scheme)
    console.print(f"wrote {len(corpus)} sentences, {corpus.n_entities()} entities to {dst} ({to})", highlight=False,
                  soft_wrap=True)
    if corpus.skipped:
        warn(f"skipped {len(corpus.skipped)} bad sentence(s); first: {corpus.skipped[0]}")


@app.command("demo")
@one_line_errors
def demo_corpus(
    out: Path = typer.Option(Path("demo-corpus"), "--out", help="Folder for train.jsonl, dev.jsonl and test.jsonl."),
    nested: bool = typer.Option(False, "--nested", help="The nested variant (ORGs containing LOCs)."),
    seed: int = typer.Option(0, "--seed", help="Corpus seed."),
) -> None:
    """Write the synthetic demo corpus (the one the tiny model is tuned on) as nerprobe JSONL."""
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.data.jsonl import jsonl_text
    from nerprobe.safe_io import atomic_write_text, check_new_or_same

    corpus = make_demo_corpus(seed=seed, nested=nested)
    texts = {split: jsonl_text(getattr(corpus, split)) for split in ("train", "dev", "test")}
    for split, text in texts.items():  # a train.jsonl of the user's own is never replaced
        check_new_or_same(out / f"{split}.jsonl", text)
    for split, text in texts.items():
        sentences = getattr(corpus, split)
        atomic_write_text(out / f"{split}.jsonl", text)
        n_ents = sum(len(s.entities) for s in sentences)
        console.print(f"{split}: {len(sentences)} sentences, {n_ents} entities → {out / (split + '.jsonl')}",
                      highlight=False, soft_wrap=True)
    seen = sum(1 for s in corpus.test if s.meta.get("seen"))
    console.print(f"test: {seen} sentences whose entities were all seen in train, {len(corpus.test) - seen} unseen")
