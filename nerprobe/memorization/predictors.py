"""The predictors of a memorization run and their roles: the subjects (the tuned model, or several named adapters of
one base), the base model, and the controls that check every indicator (DESIGN.md "Validity"):

- ``lookup``: the pure memorizer (training mention → majority label);
- ``context-only``: reads the context, knows no entity→label pair (the demo's template rules; on other corpora a
  classifier of the words around each span, learned from the held-out ``--dev`` mentions);
- ``form-only``: labels a mention from its surface form alone, learned from held-out mentions that share no surface
  with training or test;
- ``do-nothing``: empty outputs (every conditioned indicator must come out ``n/a``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from nerprobe.memorization.config import Corpora, MemorizationConfig

MODEL, BASELINE = "model", "baseline"
LOOKUP, CONTEXT, FORM, NOTHING = "lookup", "context-only", "form-only", "do-nothing"
CONTROLS = (LOOKUP, CONTEXT, FORM, NOTHING)
ROLE_TITLES = {BASELINE: "base model", LOOKUP: "memorizer control (lookup)",
               CONTEXT: "context-only control", FORM: "form-only control", NOTHING: "do-nothing control"}


@dataclass
class NamedPredictor:
    """A predictor under the name the run reports it by, its role (``subject``, ``base`` or ``control``), what the
    manifest records about it, and, for an adapter trained with renamed labels, the label set it is prompted with
    and the map back to the corpus labels."""

    name: str
    predictor: object
    manifest: dict
    role: str = "control"
    labelset: object | None = None
    label_back: dict = field(default_factory=dict)
    loaded: object | None = None  # models.loading.LoadedModel of a language model (generation-free probes use it)


def _hf_predictor(name: str, role: str, spec, cfg: MemorizationConfig, cache) -> NamedPredictor:
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.prompting import trained_prompting

    from nerprobe.templates import resolve_template

    loaded = load_model(spec, device=cfg.device, dtype=cfg.dtype, lazy=True)
    # the run's chat template (a built-in or a file: no tokenizer needed to resolve it) and system prompt
    template = resolve_template(cfg.template) if cfg.template else None
    predictor = HFPredictor(loaded, cache=cache, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens,
                            template=template, system=cfg.system)
    named = NamedPredictor(name, predictor, loaded.manifest(), role, loaded=loaded)
    trained = trained_prompting(spec.adapter) if spec.adapter else None
    if trained and trained.symbol_map and trained.prompt_labelset is not None:
        # trained on symbols (LLMs4NER RQ3): prompted as trained, its symbols mapped back to the corpus labels
        named.labelset = trained.prompt_labelset
        named.label_back = {sym: name for name, sym in trained.symbol_map.items()}
    return named


def subjects(cfg: MemorizationConfig) -> list[tuple[str, str | None]]:
    """``(name, adapter)`` of each subject: the named adapters, else ``model`` with the one adapter (or none)."""
    if cfg.adapters:
        return [(n, a) for n, a in cfg.adapters]
    return [(MODEL, cfg.adapter)]


def model_predictors(cfg: MemorizationConfig, problems: list[str]) -> list[NamedPredictor]:
    """The subjects and the base model (``--baseline``); nothing for ``--model lookup``. A model or adapter that
    cannot be found raises ``NerprobeError`` before any work."""
    from nerprobe.models.cache import GenerationCache, default_cache_dir
    from nerprobe.models.registry import resolve

    if cfg.model == LOOKUP or cfg.export is not None or cfg.predictions is not None:
        return []  # no model to load: the lookup memorizer is the subject, or the outputs come from elsewhere
    cache = GenerationCache(Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir())
    out, specs = [], []
    for name, adapter in subjects(cfg):
        spec = resolve(cfg.model, adapter, format_name=cfg.format_name)
        specs.append(spec)
        out.append(_hf_predictor(name, "subject", spec, cfg, cache))
    if cfg.baseline == "base":
        if any(s.adapter for s in specs):
            out.append(_hf_predictor(BASELINE, "base", dataclasses.replace(specs[0], adapter=None), cfg, cache))
        else:
            problems.append("baseline: the model has no adapter, so there is no separate base to compare")
    elif cfg.baseline != "none":
        out.append(_hf_predictor(BASELINE, "base", resolve(cfg.baseline, format_name=cfg.format_name), cfg, cache))
    return out


def control_predictors(cfg: MemorizationConfig, corpora: Corpora, problems: list[str]) -> list[NamedPredictor]:
    """The lookup memorizer (always), and with ``cfg.controls`` the context-only, form-only and do-nothing
    controls (the first two need held-out mentions: the demo's own, or ``--dev``)."""
    from nerprobe.models.lookup import LookupPredictor

    lookup = LookupPredictor.fit(corpora.train, cfg.normalize)  # the coverage index's normalization
    role = "subject" if cfg.model == LOOKUP and cfg.predictions is None else "control"
    out = [NamedPredictor(LOOKUP, lookup, {"fingerprint": lookup.fingerprint, "kind": ROLE_TITLES[LOOKUP]}, role)]
    if not cfg.controls:
        return out
    if corpora.demo:
        from nerprobe.probes.context_only import ContextOnlyPredictor

        ctx = ContextOnlyPredictor()
        out.append(NamedPredictor(CONTEXT, ctx, {"fingerprint": ctx.fingerprint, "kind": ROLE_TITLES[CONTEXT]}))
    if corpora.dev:
        from nerprobe.models.context_window import ContextWindowPredictor
        from nerprobe.models.form_only import FormOnlyPredictor
        from nerprobe.models.span_control import mention_surfaces

        # the controls never learn a pair of a surface that training or test has
        excluded = mention_surfaces(corpora.train + corpora.test)
        form = FormOnlyPredictor.fit([(s.surface(e), e.label) for s in corpora.dev for e in s.entities],
                                     exclude=excluded)
        out.append(NamedPredictor(FORM, form, {"fingerprint": form.fingerprint, "kind": ROLE_TITLES[FORM]}))
        if not corpora.demo:
            # it never reads a name (other entities are masked), so no surface needs leaving out
            ctx = ContextWindowPredictor.fit(corpora.dev)
            out.append(NamedPredictor(CONTEXT, ctx, {"fingerprint": ctx.fingerprint, "kind": ROLE_TITLES[CONTEXT]}))
    else:
        problems.append("controls: no held-out mentions (--dev), so the form-only"
                        + ("" if corpora.demo else " and context-only") + " control cannot be learned: left out")
    from nerprobe.models.do_nothing import DoNothingPredictor

    nothing = DoNothingPredictor()
    out.append(NamedPredictor(NOTHING, nothing, {"fingerprint": nothing.fingerprint, "kind": ROLE_TITLES[NOTHING]}))
    return out


def make_predictors(cfg: MemorizationConfig, corpora: Corpora, problems: list[str]) -> list[NamedPredictor]:
    """Every predictor of the run: subjects, base, then the controls."""
    return model_predictors(cfg, problems) + control_predictors(cfg, corpora, problems)
