"""One interface for everything that maps NER requests to outputs: HF models, the lookup baseline, replay.

A ``Request`` is one sentence to tag, in one output format with one label set; its prompt is the LLaMA-Factory
alpaca user prompt ``instruction + "\\n" + input``. A ``Predictor`` has a ``fingerprint`` (for manifests and cache
keys) and ``predict(requests, progress=True) -> list[str]`` (one output per request, in order).

Implementations live in their own modules and are imported from there (each imports this one, so this one imports
none of them): ``HFPredictor`` (nerprobe.models.hf_generate), ``LookupPredictor`` (nerprobe.models.lookup),
``ReplayPredictor`` (nerprobe.models.replay), and the controls ``FormOnlyPredictor`` (nerprobe.models.form_only),
``ContextWindowPredictor`` (nerprobe.models.context_window), ``DoNothingPredictor`` (nerprobe.models.do_nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from nerprobe.data.model import Sentence
from nerprobe.formats import get_format
from nerprobe.formats.prompts import instruction


@dataclass(frozen=True)
class Request:
    """One sentence to tag: ``id`` (the sentence id), the sentence, the format and label set, and the prompt parts."""

    id: str
    sentence: Sentence
    format_name: str
    labelset: object  # nerprobe.formats.labels.LabelSet
    instruction: str
    input: str

    @classmethod
    def build(cls, sentence: Sentence, format_name: str, labelset) -> "Request":
        """The request for ``sentence`` with the prompt of ``nerprobe.formats.prompts.sft_record`` (its
        ``instruction`` and ``input``; the record's rendered target output is no part of a request)."""
        return cls(sentence.id, sentence, format_name, labelset, instruction(format_name, labelset), sentence.text)

    @classmethod
    def build_all(cls, sentences: Sequence[Sentence], format_name: str, labelset) -> list["Request"]:
        """``build`` for each sentence, in order: the instruction depends on the format and label set alone, so it
        is written once (a memorization run on CoNLL-2003 builds ~49,000 requests)."""
        head = instruction(format_name, labelset)
        return [cls(s.id, s, format_name, labelset, head, s.text) for s in sentences]

    @property
    def prompt(self) -> str:
        """The user prompt as LLaMA-Factory builds it: ``instruction + "\\n" + input``."""
        return f"{self.instruction}\n{self.input}" if self.instruction else self.input


@runtime_checkable
class Predictor(Protocol):
    """Maps requests to outputs; ``fingerprint`` identifies what produced them."""

    fingerprint: str

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """One output string per request, in the order of ``requests``."""
        ...


class ItemsPerSecondColumn(ProgressColumn):
    """``12.3 items/s`` from rich's own speed estimate."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -- items/s" if speed is None else f"{speed:6.1f} items/s", style="progress.data.speed")


def make_progress(disable: bool = False) -> Progress:
    """A rich progress bar with a count, items/s and time left (on stderr, so stdout stays clean)."""
    from rich.console import Console

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        ItemsPerSecondColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=disable,
        transient=False,
    )


def build_requests(sentences: Sequence[Sentence], format_name: str, labelset) -> list[Request]:
    """``Request.build`` for each sentence, in order."""
    return Request.build_all(sentences, format_name, labelset)


def render_predictions(requests: Sequence[Request], entities_of, name: str, *, progress: bool = True) -> list[str]:
    """Outputs of a rule predictor: ``entities_of(sentence)`` for each request, rendered in the request's format.

    Shared by the predictors that find entities without generating text (the lookup baseline, the context-only
    control), so that their outputs go through the same parsing as a model's."""
    outputs = []
    formats: dict = {}
    with make_progress(disable=not progress) as bar:
        task = bar.add_task(name, total=len(requests))
        for r in requests:
            s = r.sentence
            # the text with the predicted entities (checked, sorted and deduplicated by Sentence), without tokens or
            # meta: a format renders the text and entities alone, and a sentence whose tokens are made on first
            # use (trusted_sentence) keeps them unmade
            predicted = Sentence(s.id, s.text, (), tuple(entities_of(s)), s.doc_id)
            fmt = formats.get(r.format_name)
            if fmt is None:
                fmt = formats[r.format_name] = get_format(r.format_name)
            names = list(r.labelset.names) if r.labelset is not None else None
            outputs.append(fmt.render(predicted, labels=names))
            if progress:  # a disabled bar still keeps its task's count
                bar.advance(task)
    return outputs

