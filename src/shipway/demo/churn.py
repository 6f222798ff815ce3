"""A synthetic customer-churn table for the demo and the tests: made here with a seeded
generator (nothing downloaded), with a known relation between the columns and the label.

Columns: customer_id, email (PII, never a model input), tenure_months, plan, monthly_charges,
support_calls, region (EU, US, APAC; for segment gates), churned (the label, 0/1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FEATURES = ["tenure_months", "plan", "monthly_charges", "support_calls"]
PLANS = ["basic", "plus", "pro"]
REGIONS = ["EU", "US", "APAC"]


def churn_frame(rows: int, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    plan = rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2])
    charges = np.round(
        20 + 15 * (plan == "plus") + 40 * (plan == "pro") + rng.normal(0, 8, rows), 2
    )
    calls = rng.poisson(1.5, rows)
    region = rng.choice(REGIONS, rows, p=[0.4, 0.4, 0.2])
    logit = 1.2 - 0.09 * tenure + 0.55 * calls + 0.02 * charges - 0.8 * (plan == "pro")
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    ids = np.arange(rows) + seed * 1_000_000
    return pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"customer{i}@example.com" for i in ids],
            "tenure_months": tenure,
            "plan": pd.Categorical(plan, categories=PLANS),
            "monthly_charges": charges,
            "support_calls": calls,
            "region": region,
            "churned": churned,
        }
    )


def good_model(frame: Any) -> Any:
    """Logistic regression on scaled numbers and a one-hot plan: the candidate that passes."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure_months", "monthly_charges", "support_calls"]),
            ("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=500))
    return model.fit(frame[FEATURES], frame["churned"])


def weak_model(frame: Any) -> Any:
    """A one-split tree on the same features: the candidate that fails its gates."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    prep = ColumnTransformer(
        [("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
    )
    model = make_pipeline(prep, DecisionTreeClassifier(max_depth=1, random_state=0))
    return model.fit(frame[FEATURES], frame["churned"])


CONTRACT = """\
model: churn
objective: flag customers likely to cancel within 30 days, for the retention team
task: binary-classification
label: churned
positive_class: 1
holdout: {holdout}
owners:
  data-science: [dana]
  engineering: [eli]
  product: [pat]
schema:
  tenure_months: {{type: int, min: 0, max: 600}}
  plan: {{type: category, values: [basic, plus, pro]}}
  monthly_charges: {{type: float, min: 0}}
  support_calls: {{type: int, min: 0}}
  email: {{type: string, pii: true}}
privacy:
  forbidden_inputs: [email, customer_id]
  log: {{hash: [customer_id], drop: [email]}}
gates:
  - accuracy >= {accuracy} on {holdout}
  - roc_auc >= 0.85
  - f1 >= production - 0.02
  - recall >= 0.5 where region = 'EU'
budgets:
  latency: {{p95_ms: {p95_ms}, p99_ms: {p99_ms}, requests: {requests}, warmup: {warmup}}}
  package_mb: 50
  memory_mb: 512
reproducibility: {{environment: true, data_linked: true}}
approvals: {{data-science: 1, engineering: 1}}
monitoring:
  window: 1h
  drift: {{share_above: 0.2, for_windows: 1, severity: warning}}
  live: {{accuracy_below: 0.7, window: 1h, min_labels: 100, severity: critical}}
  latency: {{p95_ms_above: 250, window: 5m}}
  errors: {{rate_above: 0.05, window: 5m}}
  on_breach: rollback
"""


def contract_text(
    holdout: str,
    *,
    accuracy: float = 0.72,
    p95_ms: float = 100,
    p99_ms: float = 250,
    requests: int = 300,
    warmup: int = 50,
) -> str:
    return CONTRACT.format(
        holdout=holdout,
        accuracy=accuracy,
        p95_ms=p95_ms,
        p99_ms=p99_ms,
        requests=requests,
        warmup=warmup,
    )
