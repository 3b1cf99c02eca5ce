"""Logistic regression of per-entity correctness on what memorization predicts (statsmodels ``Logit``).

``correct ~ seen + consistency + C(label) + n_tokens``: was the mention seen in training, its label consistency
(Fu et al. 2020; 0 for unseen mentions), its type and its length in tokens. Coefficients are reported as odds ratios
with Wald confidence intervals. A model whose correctness the predictors determine exactly (the pure memorizer is
right on every seen mention and wrong on every unseen one) makes the maximum-likelihood estimate not exist: this is
detected and reported as ``status: "separation"`` instead of numbers that mean nothing.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

FORMULA_TERMS = ("seen", "consistency", "C(label)", "n_tokens")


def entity_logit(rows: Sequence[dict], alpha: float = 0.05) -> dict:
    """Fit the logistic regression on ``rows`` (dicts with ``correct`` bool, ``seen`` bool, ``consistency`` float
    or None, ``label`` str, ``n_tokens`` int).

    Returns a JSON-ready dict: ``status`` (``ok``, ``separation``, ``no_variation``, ``too_few`` or ``failed``),
    ``formula``, ``n``, and when ``ok``: ``odds_ratios`` (term → ``{"odds_ratio", "low", "high", "p_value"}``),
    ``pseudo_r2``, ``converged``; otherwise a ``message``. Terms constant in the data are left out of the formula, and
    collinear ones are dropped (listed in ``dropped_collinear``).
    """
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    df = pd.DataFrame(
        {
            "correct": [int(bool(r["correct"])) for r in rows],
            "seen": [int(bool(r["seen"])) for r in rows],
            "consistency": [float(r["consistency"] or 0.0) for r in rows],
            "label": [str(r["label"]) for r in rows],
            "n_tokens": [int(r["n_tokens"]) for r in rows],
        }
    )
    out: dict = {"n": int(len(df)), "alpha": alpha}
    if len(df) < 10:
        return {**out, "status": "too_few", "formula": None, "message": f"only {len(df)} entities"}
    if df["correct"].nunique() < 2:
        share = float(df["correct"].mean())
        return {**out, "status": "no_variation", "formula": None,
                "message": f"every entity is {'correct' if share == 1 else 'wrong'}: nothing to explain"}
    terms = [t for t, col in zip(FORMULA_TERMS, ("seen", "consistency", "label", "n_tokens")) if df[col].nunique() > 1]
    # collinear terms make the information matrix singular (on the demo, consistency is 1 exactly when seen):
    # drop them, last-listed numeric ones first, and say so
    import patsy

    dropped = []
    while terms:
        design = patsy.dmatrix(" + ".join(terms), df, return_type="dataframe")
        if np.linalg.matrix_rank(design.to_numpy()) == design.shape[1]:
            break
        victim = next((t for t in ("consistency", "n_tokens", "C(label)") if t in terms), terms[-1])
        terms.remove(victim)
        dropped.append(victim)
    out["dropped_collinear"] = dropped
    formula = "correct ~ " + (" + ".join(terms) if terms else "1")
    out["formula"] = formula
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = smf.logit(formula, df).fit(disp=0, maxiter=200)
    except PerfectSeparationError as err:
        return {**out, "status": "separation", "message": f"perfect separation: {err}"}
    except (np.linalg.LinAlgError, ValueError) as err:
        return {**out, "status": "failed", "message": f"{type(err).__name__}: {err}"}
    separated = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    params = fit.params
    # quasi-separation leaves the fit "converged" with exploding coefficients and standard errors
    if separated or not np.all(np.isfinite(fit.bse)) or float(np.max(np.abs(params))) > 20:
        return {**out, "status": "separation",
                "message": "correctness is (quasi-)perfectly predicted by the terms: odds ratios do not exist"}
    ci = fit.conf_int(alpha)
    odds = {
        term: {
            "odds_ratio": float(np.exp(params[term])),
            "low": float(np.exp(ci.loc[term, 0])),
            "high": float(np.exp(ci.loc[term, 1])),
            "p_value": float(fit.pvalues[term]),
        }
        for term in params.index
    }
    return {**out, "status": "ok", "odds_ratios": odds, "pseudo_r2": float(fit.prsquared),
            "converged": bool(fit.mle_retvals.get("converged", True))}
