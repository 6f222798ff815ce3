"""The contract file: parse the YAML, check every field, and normalise it.

Every problem is collected (not just the first) and reported with its line in the file,
the field and the fix, so one edit round fixes them all::

    contract.yaml is not valid (2 problems):
      line 14, gates[0]: unknown metric 'acuracy'; did you mean 'accuracy'?
      line 21, approvals.engineering: needs a whole number of sign-offs, got 'one'

The normalised form (``parse(text).spec``) is what is stored next to the text and what
the gates, the promotion policy and monitoring read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipway.contracts.metrics import METRICS, TASKS, check_metric, suggest
from shipway.contracts.rules import RULES
from shipway.contracts.terms import Terms, terms
from shipway.errors import ContractError

COLUMN_TYPES = ("int", "float", "bool", "string", "category", "datetime")
ROLE = re.compile(r"[a-z][a-z0-9-]{0,63}")
DATASET_REF = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)@(?P<version>\d+)(?::(?P<file>\S+))?"
)
ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
OPS = (">=", "<=", ">", "<")
ON_BREACH = ("none", "rollback", "retrain")
SEVERITIES = ("info", "warning", "critical")
DRIFT_METHODS = ("auto", "ks", "chi2", "wasserstein", "jensenshannon", "psi")
DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

TOP_LEVEL = (
    "model",
    "objective",
    "task",
    "label",
    "positive_class",
    "holdout",
    "owners",
    "schema",
    "privacy",
    "gates",
    "budgets",
    "reproducibility",
    "approvals",
    "monitoring",
)
REPRODUCIBILITY = ("clean_git", "no_notebook", "environment", "data_linked")
RULE_COMMON = ("window", "for_windows", "severity", "cooldown", "min_rows")


@dataclass
class Contract:
    text: str
    spec: dict[str, Any]

    @property
    def terms(self) -> Terms:
        """The validated spec as frozen records, read by attribute."""
        return terms(self.spec)


def duration(value: Any) -> float | None:
    """``"90s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"1w"`` (or a number of seconds) in
    seconds; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    if isinstance(value, str):
        match = DURATION.fullmatch(value.strip())
        if match:
            seconds = float(match.group(1)) * UNITS[match.group(2)]
            return seconds if seconds > 0 else None
    return None


# line numbers --------------------------------------------------------------------------


def _lines(node: Any, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


@dataclass
class _Checker:
    lines: dict[tuple[Any, ...], int]
    source: str
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, path: tuple[Any, ...], message: str) -> None:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        self.problems.append({"line": line, "field": _field(path), "message": message})

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        count = len(self.problems)
        lines = [
            f"  {'line ' + str(p['line']) + ', ' if p['line'] else ''}{p['field'] or 'contract'}: "
            f"{p['message']}"
            for p in self.problems
        ]
        raise ContractError(
            f"{self.source} is not valid ({count} problem{'s' if count > 1 else ''}):\n"
            + "\n".join(lines),
            details={"problems": self.problems},
        )


def _field(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# parsing -------------------------------------------------------------------------------


def parse(text: str, *, source: str = "contract.yaml", model: str | None = None) -> Contract:
    """Check a contract's YAML; raises :class:`ContractError` listing every problem."""
    if not isinstance(text, str) or not text.strip():
        raise ContractError(f"{source} is empty; start from `shipway contract init`")
    try:
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise ContractError(
                f"{source} uses YAML anchors and aliases (*name); write each value out"
            )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ContractError(
            f"{source} is not valid YAML: {where}{problem}",
            details={"problems": [{"line": mark.line + 1 if mark else None, "message": problem}]},
        ) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    check = _Checker(lines, source)
    if not isinstance(data, dict):
        check.add((), "a contract is a mapping of sections (objective, task, gates, …)")
        check.raise_if_any()
    spec = _validate(data, check, model)
    check.raise_if_any()
    return Contract(text, spec)


def _validate(data: dict[str, Any], check: _Checker, model: str | None) -> dict[str, Any]:
    for key in data:
        if key not in TOP_LEVEL:
            check.add((key,), f"unknown section {key!r}{suggest(str(key), TOP_LEVEL)}")
    spec: dict[str, Any] = {}
    name = data.get("model")
    if name is not None and model is not None and str(name) != model:
        check.add(("model",), f"this contract is for {name!r}, not {model!r}")
    spec["model"] = model or (str(name) if name is not None else None)
    objective = data.get("objective")
    if not isinstance(objective, str) or not objective.strip():
        check.add(("objective",), "say what the model is for, in a sentence (objective: …)")
    spec["objective"] = str(objective or "").strip()
    task = data.get("task")
    if task not in TASKS:
        check.add(("task",), f"task must be one of {', '.join(TASKS)}, got {task!r}")
        task = None
    spec["task"] = task
    label = data.get("label")
    if label is not None and (not isinstance(label, str) or not label):
        check.add(("label",), f"label is the label column's name, got {label!r}")
    elif label is None and data.get("gates"):
        check.add(("gates",), "metric gates need the label column: add 'label: COLUMN'")
    spec["label"] = label if isinstance(label, str) else None
    spec["positive_class"] = data.get("positive_class")
    holdout = data.get("holdout")
    if holdout is not None and not (isinstance(holdout, str) and DATASET_REF.fullmatch(holdout)):
        check.add(("holdout",), f"{holdout!r} is not a dataset version; write NAME@VERSION")
    spec["holdout"] = holdout
    spec["owners"] = _owners(data.get("owners"), check)
    spec["schema"] = _schema(data.get("schema"), check)
    spec["privacy"] = _privacy(data.get("privacy"), check)
    spec["gates"] = _gates(data.get("gates"), check, task, holdout)
    spec["budgets"] = _budgets(data.get("budgets"), check)
    spec["reproducibility"] = _reproducibility(data.get("reproducibility"), check)
    spec["approvals"] = _approvals(data.get("approvals"), check, spec["owners"])
    spec["monitoring"] = _monitoring(data.get("monitoring"), check, task)
    return spec


def _mapping(value: Any, path: tuple[Any, ...], check: _Checker, example: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.add(path, f"must be a mapping, like {example}")
        return {}
    return value


def _names(value: Any, path: tuple[Any, ...], check: _Checker) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        check.add(path, "must be a list of names, like [alice, bob]")
        return []
    return list(value)


def _owners(value: Any, check: _Checker) -> dict[str, list[str]]:
    owners = _mapping(value, ("owners",), check, "{data-science: [dana], engineering: [eli]}")
    out: dict[str, list[str]] = {}
    for role, people in owners.items():
        if not isinstance(role, str) or not ROLE.fullmatch(role):
            check.add(("owners", role), f"role {role!r} must be a lowercase name like data-science")
            continue
        out[role] = _names(people, ("owners", role), check)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _schema(value: Any, check: _Checker) -> dict[str, dict[str, Any]]:
    columns = _mapping(value, ("schema",), check, "{tenure_months: {type: int, min: 0}}")
    out: dict[str, dict[str, Any]] = {}
    for name, col in columns.items():
        path = ("schema", name)
        if isinstance(col, str):
            col = {"type": col}
        if not isinstance(col, dict):
            check.add(path, "describe the column as {type: int, nullable: false, min: 0}")
            continue
        allowed = ("type", "nullable", "min", "max", "values", "pii", "description")
        for key in col:
            if key not in allowed:
                check.add((*path, key), f"unknown field {key!r}{suggest(str(key), allowed)}")
        kind = col.get("type")
        if kind not in COLUMN_TYPES:
            check.add(
                (*path, "type"), f"type must be one of {', '.join(COLUMN_TYPES)}, got {kind!r}"
            )
        entry: dict[str, Any] = {
            "type": kind,
            "nullable": bool(col.get("nullable", False)),
            "pii": bool(col.get("pii", False)),
        }
        for bound in ("min", "max"):
            if bound in col:
                if not _number(col[bound]):
                    check.add((*path, bound), f"{bound} must be a number, got {col[bound]!r}")
                elif kind not in ("int", "float"):
                    check.add((*path, bound), f"{bound} applies to int and float columns only")
                else:
                    entry[bound] = col[bound]
        if "min" in entry and "max" in entry and entry["min"] > entry["max"]:
            check.add((*path, "min"), f"min {entry['min']} is above max {entry['max']}")
        if "values" in col:
            values = col["values"]
            if not isinstance(values, list) or not values:
                check.add((*path, "values"), "values must be a non-empty list of allowed values")
            else:
                entry["values"] = values
        elif kind == "category":
            check.add(path, "a category column lists its values: {type: category, values: [a, b]}")
        out[str(name)] = entry
    return out


def _privacy(value: Any, check: _Checker) -> dict[str, Any]:
    privacy = _mapping(value, ("privacy",), check, "{forbidden_inputs: [email]}")
    for key in privacy:
        if key not in ("forbidden_inputs", "log"):
            check.add(("privacy", key), f"unknown field {key!r}; use forbidden_inputs or log")
    log = _mapping(privacy.get("log"), ("privacy", "log"), check, "{hash: [customer_id]}")
    for key in log:
        if key not in ("hash", "drop"):
            check.add(("privacy", "log", key), f"unknown field {key!r}; use hash or drop")
    hashed = _names(log.get("hash"), ("privacy", "log", "hash"), check)
    dropped = _names(log.get("drop"), ("privacy", "log", "drop"), check)
    both = sorted(set(hashed) & set(dropped))
    if both:
        check.add(("privacy", "log"), f"{', '.join(both)}: hash or drop a column, not both")
    return {
        "forbidden_inputs": _names(
            privacy.get("forbidden_inputs"), ("privacy", "forbidden_inputs"), check
        ),
        "log": {"hash": hashed, "drop": dropped},
    }


# gates ---------------------------------------------------------------------------------

_GATE = re.compile(
    r"(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|>|<)\s*(?P<rhs>.+?)"
    r"(?:\s+on\s+(?P<dataset>\S+))?(?:\s+where\s+(?P<where>.+))?"
)
_RELATIVE = re.compile(
    r"(?P<alias>[a-z][a-z0-9_-]*)\s*(?:(?P<sign>[+-])\s*(?P<offset>[0-9.eE+-]+))?"
)
_CONDITION = re.compile(
    r"(?P<column>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>==|!=|>=|<=|=|>|<| in )\s*(?P<value>.+)"
)


def parse_gate(text: str) -> dict[str, Any]:
    """One gate: ``METRIC OP (NUMBER | ALIAS [± NUMBER]) [on NAME@V] [where COL = VALUE
    [and …]]``. Raises ``ValueError`` saying what is wrong."""
    match = _GATE.fullmatch(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a gate; write e.g. 'accuracy >= 0.9 on churn-holdout@3', "
            "'f1 >= production - 0.01' or \"recall >= 0.8 where region = 'EU'\""
        )
    rhs = match.group("rhs").strip()
    gate: dict[str, Any] = {
        "text": " ".join(text.split()),
        "metric": match.group("metric"),
        "op": match.group("op"),
        "threshold": None,
        "relative": None,
        "dataset": match.group("dataset"),
        "where": [],
    }
    try:
        gate["threshold"] = float(rhs)
    except ValueError:
        gate["threshold"] = None
        rel = _RELATIVE.fullmatch(rhs)
        if not rel:
            raise ValueError(
                f"{rhs!r} is neither a number nor an alias with an offset (production - 0.01)"
            ) from None
        offset = 0.0
        if rel.group("offset") is not None:
            try:
                offset = float(rel.group("offset"))
            except ValueError:
                raise ValueError(f"{rel.group('offset')!r} is not a number") from None
            if rel.group("sign") == "-":
                offset = -offset
        gate["relative"] = {"alias": rel.group("alias"), "offset": offset}
    numbers = [gate["threshold"], (gate["relative"] or {}).get("offset")]
    if any(n is not None and not math.isfinite(n) for n in numbers):
        raise ValueError(f"{rhs!r}: thresholds and offsets must be finite numbers")
    if gate["dataset"] is not None and not DATASET_REF.fullmatch(gate["dataset"]):
        raise ValueError(f"{gate['dataset']!r} is not a dataset version; write NAME@VERSION")
    if match.group("where"):
        for part in re.split(r"\s+and\s+", match.group("where").strip()):
            gate["where"].append(_condition(part))
    return gate


def _condition(text: str) -> dict[str, Any]:
    match = _CONDITION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a condition; write column = 'value' or column > 3")
    op = match.group("op").strip()
    op = "==" if op == "=" else op
    raw = match.group("value").strip()
    if op == "in":
        if not (raw.startswith("(") and raw.endswith(")")):
            raise ValueError(
                f"'in' takes a list in parentheses: {match.group('column')} in ('a', 'b')"
            )
        value: Any = [_literal(v) for v in raw[1:-1].split(",") if v.strip()]
    else:
        value = _literal(raw)
    return {"column": match.group("column"), "op": op, "value": value}


def _literal(raw: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a value: quote text ('EU') or write a number") from None


def _gates(value: Any, check: _Checker, task: str | None, holdout: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        check.add(("gates",), "gates is a list, like ['accuracy >= 0.9 on churn-holdout@3']")
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            check.add(("gates", i), f"a gate is one line of text, got {item!r}")
            continue
        try:
            gate = parse_gate(item)
        except ValueError as exc:
            check.add(("gates", i), str(exc))
            continue
        problem = check_metric(gate["metric"], task)
        if problem:
            check.add(("gates", i), problem)
            continue
        if gate["dataset"] is None:
            if holdout is None:
                check.add(
                    ("gates", i),
                    "name the data: add 'on NAME@VERSION' or a top-level 'holdout: NAME@VERSION'",
                )
                continue
            gate["dataset"] = holdout
        if gate["relative"] and not ALIAS.fullmatch(gate["relative"]["alias"]):
            check.add(("gates", i), f"{gate['relative']['alias']!r} is not an alias name")
            continue
        out.append(gate)
    return out


# budgets, reproducibility, approvals ---------------------------------------------------


def _budgets(value: Any, check: _Checker) -> dict[str, Any]:
    budgets = _mapping(value, ("budgets",), check, "{latency: {p95_ms: 15}, package_mb: 200}")
    allowed = ("latency", "package_mb", "memory_mb")
    out: dict[str, Any] = {}
    for key, item in budgets.items():
        if key not in allowed:
            check.add(("budgets", key), f"unknown budget {key!r}{suggest(str(key), allowed)}")
        elif key == "latency":
            latency = _mapping(item, ("budgets", "latency"), check, "{p95_ms: 15, p99_ms: 40}")
            lat: dict[str, Any] = {"requests": 300, "warmup": 50}
            for lk, lv in latency.items():
                if lk in ("p50_ms", "p95_ms", "p99_ms"):
                    if not _number(lv) or lv <= 0:
                        check.add(
                            ("budgets", "latency", lk), f"must be milliseconds > 0, got {lv!r}"
                        )
                    else:
                        lat[lk] = float(lv)
                elif lk in ("requests", "warmup"):
                    low = 20 if lk == "requests" else 0
                    if not isinstance(lv, int) or isinstance(lv, bool) or not low <= lv <= 100_000:
                        check.add(
                            ("budgets", "latency", lk), f"must be a whole number {low}..100000"
                        )
                    else:
                        lat[lk] = lv
                else:
                    choices = ("p50_ms", "p95_ms", "p99_ms", "requests", "warmup")
                    check.add(
                        ("budgets", "latency", lk),
                        f"unknown field {lk!r}{suggest(str(lk), choices)}",
                    )
            if not any(k.endswith("_ms") for k in lat):
                check.add(("budgets", "latency"), "give at least one of p50_ms, p95_ms, p99_ms")
            out["latency"] = lat
        elif not _number(item) or item <= 0:
            check.add(("budgets", key), f"must be megabytes > 0, got {item!r}")
        else:
            out[key] = float(item)
    return out


def _reproducibility(value: Any, check: _Checker) -> dict[str, bool]:
    repro = _mapping(value, ("reproducibility",), check, "{clean_git: true, data_linked: true}")
    out = {}
    for key, item in repro.items():
        if key not in REPRODUCIBILITY:
            check.add(
                ("reproducibility", key),
                f"unknown requirement {key!r}{suggest(str(key), REPRODUCIBILITY)}",
            )
        elif not isinstance(item, bool):
            check.add(("reproducibility", key), f"must be true or false, got {item!r}")
        else:
            out[key] = item
    return out


def _approvals(value: Any, check: _Checker, owners: Mapping[str, list[str]]) -> dict[str, int]:
    approvals = _mapping(value, ("approvals",), check, "{data-science: 1, engineering: 1}")
    out = {}
    for role, count in approvals.items():
        path = ("approvals", role)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            check.add(path, f"needs a whole number of sign-offs, got {count!r}")
            continue
        if count and len(owners.get(role, [])) < count:
            listed = owners.get(role, [])
            check.add(
                path,
                f"needs {count} {role} sign-off(s) but owners.{role} lists "
                f"{len(listed)} person(s); add the people who may sign off",
            )
            continue
        out[str(role)] = count
    return out


# monitoring ----------------------------------------------------------------------------


def _monitoring(value: Any, check: _Checker, task: str | None) -> dict[str, Any]:
    mon = _mapping(value, ("monitoring",), check, "{drift: {share_above: 0.3, window: 1h}}")
    sections = (*RULES, "window", "reference", "on_breach", "retrain", "webhook")
    out: dict[str, Any] = {"window": 3600.0, "on_breach": "none", "rules": {}}
    for key, item in mon.items():
        path = ("monitoring", key)
        if key not in sections:
            check.add(path, f"unknown field {key!r}{suggest(str(key), sections)}")
        elif key == "window":
            seconds = duration(item)
            if seconds is None:
                check.add(path, f"{item!r} is not a duration; write 30s, 5m, 1h or 1d")
            else:
                out["window"] = seconds
        elif key == "reference":
            if not (isinstance(item, str) and DATASET_REF.fullmatch(item)):
                check.add(path, f"{item!r} is not a dataset version; write NAME@VERSION")
            else:
                out["reference"] = item
        elif key == "on_breach":
            if item not in ON_BREACH:
                check.add(path, f"on_breach must be one of {', '.join(ON_BREACH)}, got {item!r}")
            else:
                out["on_breach"] = item
        elif key == "retrain":
            retrain = _mapping(item, path, check, "{pipeline: churn} or {command: python train.py}")
            command, pipeline = retrain.get("command"), retrain.get("pipeline")
            for field in set(retrain) - {"command", "pipeline", "params", "timeout"}:
                check.add(
                    (*path, field),
                    f"unknown field {field!r}; retrain has pipeline or command, params, timeout",
                )
            if pipeline is not None:
                if not isinstance(pipeline, str) or not pipeline.strip():
                    check.add((*path, "pipeline"), "name the pipeline that retrains the model")
                if command is not None:
                    check.add((*path, "command"), "give pipeline or command, not both")
                params = retrain.get("params") or {}
                if not isinstance(params, dict):
                    check.add((*path, "params"), "params is a mapping of name -> value")
                out["retrain"] = {"pipeline": pipeline, "params": params}
            else:
                if not isinstance(command, str) or not command.strip():
                    check.add(
                        (*path, "command"),
                        "give the pipeline (pipeline: NAME) or the command that retrains the model",
                    )
                timeout = duration(retrain.get("timeout", "1h"))
                out["retrain"] = {"command": command, "timeout": timeout}
        elif key == "webhook":
            hook = _mapping(
                item, path, check, "{url: https://…, secret_env: SHIPWAY_WEBHOOK_SECRET}"
            )
            url = hook.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                check.add((*path, "url"), f"url must be an http(s) URL, got {url!r}")
            out["webhook"] = {"url": url, "secret_env": hook.get("secret_env")}
        else:
            out["rules"][key] = _rule(key, item, path, check, task)
    if out["on_breach"] == "retrain" and "retrain" not in out:
        check.add(
            ("monitoring", "on_breach"),
            "on_breach: retrain needs retrain: {pipeline: …} or {command: …}",
        )
    return out


def _override(path: tuple[Any, ...], value: dict[str, Any], check: _Checker) -> dict[str, Any]:
    """One feature's drift test: ``{method: psi, threshold: 0.2}``."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "method" and item in DRIFT_METHODS:
            out["method"] = item
        elif key == "method":
            check.add((*path, key), f"method must be one of {', '.join(DRIFT_METHODS)}")
        elif key == "threshold" and _number(item) and item >= 0:
            out["threshold"] = float(item)
        elif key == "threshold":
            check.add((*path, key), f"threshold must be a number >= 0, got {item!r}")
        else:
            check.add((*path, key), f"unknown field {key!r}; a feature takes method and threshold")
    if "threshold" in out and out.get("method", "auto") == "auto":
        check.add(path, "a threshold needs its test: add method (ks, chi2, …)")
    return out


def _rule(
    kind: str, value: Any, path: tuple[Any, ...], check: _Checker, task: str | None
) -> dict[str, Any]:
    rule = _mapping(value, path, check, "{share_above: 0.3, window: 1h, for_windows: 3}")
    rule = {str(k): v for k, v in rule.items()}
    out: dict[str, Any] = {"for_windows": 1, "severity": "warning", "cooldown": 3600.0}
    for key, item in rule.items():
        kp = (*path, key)
        if key in ("window", "cooldown"):
            seconds = duration(item)
            if seconds is None:
                check.add(kp, f"{item!r} is not a duration; write 30s, 5m, 1h or 1d")
            else:
                out[key] = seconds
        elif key in ("for_windows", "min_rows", "min_labels"):
            if not isinstance(item, int) or isinstance(item, bool) or item < 1:
                check.add(kp, f"must be a whole number >= 1, got {item!r}")
            else:
                out[key] = item
        elif key == "severity":
            if item not in SEVERITIES:
                check.add(kp, f"severity must be one of {', '.join(SEVERITIES)}")
            else:
                out[key] = item
        elif key == "method":
            if item not in DRIFT_METHODS:
                check.add(kp, f"method must be one of {', '.join(DRIFT_METHODS)}, got {item!r}")
            else:
                out[key] = item
        elif key == "features":
            if isinstance(item, list) and all(isinstance(f, str) for f in item):
                out[key] = {f: {} for f in item}
            elif isinstance(item, dict) and all(
                v is None or isinstance(v, dict) for v in item.values()
            ):
                out[key] = {str(f): _override((*kp, f), v or {}, check) for f, v in item.items()}
            else:
                check.add(kp, "features is a list of column names or a mapping of overrides")
        elif kind == "live" and key.endswith(("_below", "_above")):
            metric = key.rsplit("_", 1)[0]
            problem = check_metric(metric, task)
            if problem:
                check.add(kp, problem)
            elif not _number(item):
                check.add(kp, f"must be a number, got {item!r}")
            else:
                out.setdefault("metrics", {})[key] = float(item)
        elif key in RULES[kind].fields:
            if not _number(item) or item < 0:
                check.add(kp, f"must be a number >= 0, got {item!r}")
            else:
                out[key] = float(item)
        else:
            choices = [*RULES[kind].fields, *RULE_COMMON]
            if kind == "live":
                choices += [f"{m}_below" for m in METRICS]
            check.add(kp, f"unknown field {key!r}{suggest(str(key), choices)}")
    if "threshold" in out and out.get("method", "auto") == "auto":
        check.add((*path, "threshold"), "a threshold needs its test: add method (ks, chi2, …)")
    if kind == "live" and not out.get("metrics"):
        check.add(path, "name a metric floor, e.g. accuracy_below: 0.85")
    wanted = RULES[kind].thresholds
    if wanted and not any(k in out for k in wanted):
        check.add(path, f"give a threshold: {' or '.join(wanted)}")
    return out
