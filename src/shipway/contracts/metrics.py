"""The metrics a contract may name, computed with scikit-learn.

Names follow scikit-learn's scorers without the ``neg_`` prefix (``rmse`` is
``root_mean_squared_error``). Classification metrics taking a positive class use the
contract's ``positive_class`` (default: the model's second class, as scikit-learn does).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CLASSIFICATION = ("binary-classification", "multiclass-classification")
REGRESSION = ("regression",)
TASKS = (*CLASSIFICATION, *REGRESSION)


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: tuple[str, ...]
    uses: str  # labels: predicted labels | scores: predicted probabilities
    compute: Callable[..., float]
    higher_is_better: bool = True


def _sk() -> Any:
    import sklearn.metrics as m

    return m


def _binary_avg(fn_name: str, average: str | None = None) -> Callable[..., float]:
    def compute(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
        fn = getattr(_sk(), fn_name)
        if average is not None:
            return float(fn(y, pred, average=average, zero_division=0))
        if len(classes) <= 2:
            return float(fn(y, pred, pos_label=positive, average="binary", zero_division=0))
        return float(fn(y, pred, average="macro", zero_division=0))

    return compute


def _labels(fn_name: str) -> Callable[..., float]:
    def compute(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
        return float(getattr(_sk(), fn_name)(y, pred))

    return compute


def _is(y: Any, positive: Any) -> Any:
    import numpy as np  # with scikit-learn, only when a metric is computed

    return np.asarray(y) == positive


def _roc_auc(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
    m = _sk()
    if len(classes) <= 2:
        column = list(classes).index(positive)
        return float(m.roc_auc_score(_is(y, positive), proba[:, column]))
    return float(m.roc_auc_score(y, proba, multi_class="ovr", labels=list(classes)))


def _average_precision(
    y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any
) -> float:
    column = list(classes).index(positive)
    return float(_sk().average_precision_score(_is(y, positive), proba[:, column]))


def _log_loss(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
    return float(_sk().log_loss(y, proba, labels=list(classes)))


def _brier(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
    column = list(classes).index(positive)
    return float(_sk().brier_score_loss(_is(y, positive), proba[:, column]))


def _rmse(y: Any, pred: Any, proba: Any, classes: Sequence[Any], positive: Any) -> float:
    return math.sqrt(float(_sk().mean_squared_error(y, pred)))


_BIN = ("binary-classification",)
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", CLASSIFICATION, "labels", _labels("accuracy_score")),
        Metric("balanced_accuracy", CLASSIFICATION, "labels", _labels("balanced_accuracy_score")),
        Metric("precision", CLASSIFICATION, "labels", _binary_avg("precision_score")),
        Metric("recall", CLASSIFICATION, "labels", _binary_avg("recall_score")),
        Metric("f1", CLASSIFICATION, "labels", _binary_avg("f1_score")),
        Metric(
            "precision_macro", CLASSIFICATION, "labels", _binary_avg("precision_score", "macro")
        ),
        Metric("recall_macro", CLASSIFICATION, "labels", _binary_avg("recall_score", "macro")),
        Metric("f1_macro", CLASSIFICATION, "labels", _binary_avg("f1_score", "macro")),
        Metric("f1_weighted", CLASSIFICATION, "labels", _binary_avg("f1_score", "weighted")),
        Metric("matthews_corrcoef", CLASSIFICATION, "labels", _labels("matthews_corrcoef")),
        Metric("cohen_kappa", CLASSIFICATION, "labels", _labels("cohen_kappa_score")),
        Metric("roc_auc", CLASSIFICATION, "scores", _roc_auc),
        Metric("average_precision", _BIN, "scores", _average_precision),
        Metric("log_loss", CLASSIFICATION, "scores", _log_loss, higher_is_better=False),
        Metric("brier_score", _BIN, "scores", _brier, higher_is_better=False),
        Metric("r2", REGRESSION, "labels", _labels("r2_score")),
        Metric("explained_variance", REGRESSION, "labels", _labels("explained_variance_score")),
        Metric("rmse", REGRESSION, "labels", _rmse, higher_is_better=False),
        Metric("mse", REGRESSION, "labels", _labels("mean_squared_error"), False),
        Metric("mae", REGRESSION, "labels", _labels("mean_absolute_error"), False),
        Metric("median_ae", REGRESSION, "labels", _labels("median_absolute_error"), False),
        Metric("mape", REGRESSION, "labels", _labels("mean_absolute_percentage_error"), False),
        Metric("max_error", REGRESSION, "labels", _labels("max_error"), False),
    ]
}


def suggest(name: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_metric(name: str, task: str | None) -> str | None:
    """Why ``name`` is not a metric for ``task``, or None when it is."""
    metric = METRICS.get(name)
    if metric is None:
        return f"unknown metric {name!r}{suggest(name, list(METRICS))}" + (
            "" if suggest(name, list(METRICS)) else f" (known: {', '.join(METRICS)})"
        )
    if task is not None and task not in metric.tasks:
        fitting = [m for m, spec in METRICS.items() if task in spec.tasks]
        return f"metric {name!r} does not apply to {task}; use one of {', '.join(fitting)}"
    return None


def compute(
    name: str,
    y_true: Any,
    predictions: Any,
    probabilities: Any,
    classes: Sequence[Any] | None,
    positive: Any,
) -> float:
    metric = METRICS[name]
    if metric.uses == "scores" and probabilities is None:
        raise ValueError(f"{name} needs predicted probabilities; this model has no predict_proba")
    return metric.compute(y_true, predictions, probabilities, list(classes or []), positive)
