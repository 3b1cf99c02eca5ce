"""The entity regression: document-clustered errors keep null terms at their level; separation and non-estimable
terms are reported, not printed; one row per (entity, condition)."""

from __future__ import annotations

import numpy as np
import pytest

from nerprobe.analysis.regression import _frame, entity_logit


def _simulate(rng, n_docs=50, sd_doc=1.2):
    """Entities in sentences in documents; correctness depends on a document effect only (every term is null).
    ``seen`` and the label mix vary by document, as in real corpora; replaced mentions add a second row."""
    rows = []
    for d in range(n_docs):
        u = rng.normal(0, sd_doc)
        p_seen = rng.beta(2, 2)
        labels = rng.choice(["PER", "LOC", "ORG"], size=2, replace=False)
        for s in range(rng.integers(3, 8)):
            for e in range(rng.integers(1, 4)):
                seen, lab, n_tok = bool(rng.random() < p_seen), str(rng.choice(labels)), int(rng.integers(1, 4))
                consistency = float(rng.random()) if seen else None
                for cond in ("original", "unseen-replacement"):
                    if cond != "original" and rng.random() < 0.3:
                        continue
                    s_c = seen and cond == "original"
                    rows.append({"entity": f"d{d}-s{s}:{e}", "condition": cond,
                                 "correct": bool(rng.random() < 1 / (1 + np.exp(-(0.3 + u)))), "seen": s_c,
                                 "consistency": consistency if s_c else None, "label": lab, "n_tokens": n_tok,
                                 "document": f"d{d}", "sentence": f"d{d}-s{s}"})
    return rows


def test_null_terms_are_rarely_significant_with_document_clusters():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    n_sim = 200
    hits: dict[str, int] = {}
    naive: dict[str, int] = {}
    for k in range(n_sim):
        rows = _simulate(rng)
        fit = entity_logit(rows)
        assert fit.status == "ok", fit.message
        assert fit.cluster_by == "document" and fit.n_clusters == 50
        for term, o in fit.odds_ratios.items():
            if term != "Intercept":
                hits[term] = hits.get(term, 0) + (o.p_value < 0.05)
        if k < 100:  # the same data with independent-row (naive) errors, to show the simulation has teeth
            plain = smf.logit(fit.formula, _frame(rows)).fit(disp=0)
            for term, p in plain.pvalues.items():
                naive[term] = naive.get(term, 0) + (p < 0.05)
    rates = {t: h / n_sim for t, h in hits.items()}
    assert set(rates) >= {"seen", "consistency", "n_tokens", "C(condition)[T.unseen-replacement]"}
    assert max(rates.values()) <= 0.10, rates
    assert max(naive[t] / 100 for t in naive if t.startswith("C(label)")) > 0.10, naive


def test_an_effect_is_recovered_with_clustered_intervals():
    rng = np.random.default_rng(1)
    rows = []
    for d in range(60):
        u = rng.normal(0, 0.5)
        for i in range(12):
            seen = bool(rng.random() < 0.5)
            p = 1 / (1 + np.exp(-(-1.0 + 1.5 * seen + u)))  # odds ratio of seen = e^1.5 ~ 4.5
            rows.append({"correct": rng.random() < p, "seen": seen, "consistency": rng.random() if seen else None,
                         "label": str(rng.choice(["PER", "LOC"])), "n_tokens": int(rng.integers(1, 4)),
                         "document": None, "sentence": f"s{d}"})
    fit = entity_logit(rows)
    assert fit.status == "ok" and fit.cluster_by == "sentence" and fit.n_clusters == 60
    seen = fit.odds_ratios["seen"]
    assert seen.low < np.exp(1.5) < seen.high and seen.low > 1.5
    assert "cov:cluster(sentence)" in fit.signature and fit.to_dict()["odds_ratios"]["seen"]["low"] == seen.low


def _rows(correct_fn, n=300, seed=2):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        seen = bool(rng.random() < 0.5)
        label = str(rng.choice(["PER", "LOC", "MISC"]))
        out.append({"correct": correct_fn(rng, seen, label), "seen": seen, "consistency": None, "label": label,
                    "n_tokens": int(rng.integers(1, 4)), "document": f"d{i // 10}", "sentence": f"s{i // 3}"})
    return out


def test_complete_separation_gives_no_odds_ratio():
    fit = entity_logit(_rows(lambda rng, seen, label: seen))  # the pure memorizer
    assert fit.status == "separation" and not fit.odds_ratios and "do not exist" in fit.message


def test_a_quasi_separated_term_is_named_and_not_printed():
    # every MISC mention is right; the others depend on seen
    fit = entity_logit(_rows(lambda rng, seen, label: label == "MISC" or rng.random() < (0.7 if seen else 0.3)))
    assert fit.status == "partial"
    assert "C(label)[T.MISC]" in fit.unestimable and "C(label)[T.MISC]" not in fit.odds_ratios
    assert "seen" in fit.odds_ratios and fit.odds_ratios["seen"].odds_ratio > 1


def test_too_few_clusters_and_no_variation_are_reported():
    rows = _rows(lambda rng, seen, label: rng.random() < 0.5)
    few = [{**r, "document": f"d{i % 4}"} for i, r in enumerate(rows)]
    assert entity_logit(few).status == "too_few_clusters"
    assert entity_logit([{**r, "correct": True} for r in rows]).status == "no_variation"
    assert entity_logit(rows[:5]).status == "too_few"


@pytest.mark.parametrize("n_docs", [12])
def test_condition_is_a_term(n_docs):
    rows = _simulate(np.random.default_rng(5), n_docs=n_docs)
    fit = entity_logit(rows)
    assert "C(condition)" in fit.formula
    assert len({(r["entity"], r["condition"]) for r in rows}) == len(rows)
