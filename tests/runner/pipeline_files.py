"""Pipeline files the runner tests write into their projects."""

PIPELINE = """
import os
import signal
from pathlib import Path

import shipway as sw

HERE = Path(__file__).parent  # the flag files the tests leave for the steps live here


def split(frame, share):
    cut = int(len(frame) * (1 - share))
    return frame.iloc[:cut], frame.iloc[cut:]


@sw.step
def prepare(raw, test_share=0.3):
    frame = raw.to_pandas().sample(frac=1.0, random_state=0)
    print("prepared", len(frame), "rows")
    return split(frame, test_share)


@sw.step
def train(data, C=1.0):
    from sklearn.linear_model import LogisticRegression

    if (HERE / "fail-train").exists():
        raise ValueError("the training data looks wrong")
    marker = HERE / f"kill-once-{C}"
    if marker.exists():
        marker.unlink()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies in the middle of the step
    train_part, test_part = data
    X, y = train_part.drop(columns=["target"]), train_part["target"]
    model = LogisticRegression(C=C, max_iter=2000).fit(X, y)
    sw.current_step().log_metric("train_acc", float(model.score(X, y)))
    return model


@sw.step
def score(model, data):
    _, test_part = data
    return float(model.score(test_part.drop(columns=["target"]), test_part["target"]))


@sw.step
def best(scores, Cs):
    top = max(range(len(scores)), key=lambda i: scores[i])
    return {"C": Cs[top], "accuracy": scores[top], "all": scores}


@sw.pipeline(name="iris", experiment="iris-pipeline")
def iris(Cs: list = [0.01, 1.0], test_share: float = 0.3):
    data = prepare(sw.dataset("iris"), test_share=test_share)
    models = [train(data, C=c) for c in Cs]
    scores = [score(m, data) for m in models]
    best(scores, Cs)
"""
