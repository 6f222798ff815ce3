"""The churn project fixtures (see tests/churn_project.py)."""

from churn_project import (  # noqa: F401 - fixtures
    Project,
    build_project,
    churn_data,
    churn_models,
    local_project,
    project,
)
