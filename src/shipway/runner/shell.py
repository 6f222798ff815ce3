"""Pipelines of shell commands, declared in ``shipway.yaml`` (the shape of ``dvc.yaml``)::

    pipeline: cancer            # the name (default: the folder's)
    experiment: cancer          # default: the name
    params: {C: 1.0}            # the pipeline's params (``-p C=0.5`` overrides)
    stages:
      prepare:
        cmd: python prepare.py --test-size ${test_size}
        deps: [prepare.py, data/cancer.csv]
        params: {test_size: 0.25}
        outs: [data/prepared]
      train:
        cmd: python train.py --C ${C}
        deps: [train.py, data/prepared]
        outs: [model.pkl]

A stage's key is its command (with params substituted), its params and the content of
its ``deps``; a dep that is another stage's out makes that stage upstream. The command
runs in the project folder with each param also in ``SHIPWAY_PARAM_<NAME>``; its outs are
stored as the stage's output and put back in the folder when a later run reuses them.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

from shipway.errors import InvalidInput
from shipway.runner.define import FileInput, Node, Step
from shipway.runner.flow import Pipeline
from shipway.runner.keys import tree_digest
from shipway.runner.worker import current_step

STAGE_FIELDS = {"cmd", "deps", "outs", "params"}
TOP_FIELDS = {"pipeline", "experiment", "params", "stages"}


def _copy_in(source: Path, project: Path) -> None:
    """Put an upstream stage's outs (a folder of relative paths) into the project."""
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(source)
        dest = project / rel
        same_size = dest.is_file() and dest.stat().st_size == path.stat().st_size
        if same_size and tree_digest(dest) == tree_digest(path):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{dest.name}")
        shutil.copy2(path, tmp)
        os.replace(tmp, dest)


def _run_stage(
    cmd: str, outs: list[str], deps: list[Any], params: dict[str, Any], stage: str
) -> None:
    context = current_step()
    project = Path(context.project)
    for dep in deps:
        if isinstance(dep, Path) and dep.is_dir():  # an upstream stage's outs
            _copy_in(dep, project)
    env = dict(os.environ)
    for name, value in params.items():
        env[f"SHIPWAY_PARAM_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}"] = str(value)
    env["SHIPWAY_RUN_ID"] = context.run.id
    process = subprocess.run(
        cmd, shell=True, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    sys.stdout.write(process.stdout)
    sys.stderr.write(process.stderr)
    if process.returncode != 0:
        tail = (process.stderr or process.stdout).strip().splitlines()[-5:]
        raise RuntimeError(
            f"stage {stage!r}: '{cmd}' exited with {process.returncode}"
            + (": " + " | ".join(tail) if tail else "")
        )
    for out in outs:
        found = project / out
        if not found.exists():
            raise RuntimeError(f"stage {stage!r} declares out {out!r} but '{cmd}' did not write it")
        dest = context.out / out
        dest.parent.mkdir(parents=True, exist_ok=True)
        if found.is_dir():
            shutil.copytree(found, dest)
        else:
            shutil.copy2(found, dest)


def _restore(client: Any, output: dict[str, Any], project: Path, outs: list[str]) -> None:
    """On a cache hit, make the project's outs the cached ones (as ``dvc checkout`` does):
    missing or different files are put back; matching ones are left alone."""
    if output.get("kind") != "path":
        return
    stored = {
        a.path.split("/", 2)[-1]: a.digest  # outputs/out/<rel> -> digest
        for a in client.list_artifacts(output["run_id"], output["artifact"])
    }
    current = {
        rel: tree_digest(project / rel) if (project / rel).is_file() else None for rel in stored
    }
    if all(current[rel] == digest for rel, digest in stored.items()):
        return
    import tempfile

    from shipway.runner.worker import fetch_output

    with tempfile.TemporaryDirectory(prefix="shipway-restore-") as tmp:
        folder = fetch_output(client, output, Path(tmp))
        _copy_in(folder, project)


def _list(value: Any, field: str, stage: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidInput(f"stage {stage!r}: {field} is a list of paths, got {value!r}")
    for v in value:
        if Path(v).is_absolute() or ".." in Path(v).parts:
            raise InvalidInput(f"stage {stage!r}: {field} path {v!r} must stay inside the project")
    return [v.strip().rstrip("/") for v in value]


def load_yaml(path: Path) -> Pipeline:
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when there
        spec = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path.name} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("stages"), dict) or not spec["stages"]:
        raise InvalidInput(
            f"{path.name} needs a 'stages:' mapping of stage name -> cmd, deps, outs"
        )
    unknown = set(spec) - TOP_FIELDS
    if unknown:
        raise InvalidInput(
            f"{path.name}: unknown field(s) {', '.join(sorted(unknown))}; "
            f"the fields are {', '.join(sorted(TOP_FIELDS))}"
        )
    project = path.parent.resolve()
    stages: dict[str, dict[str, Any]] = {}
    for name, stage in spec["stages"].items():
        if not isinstance(stage, dict) or not isinstance(stage.get("cmd"), str):
            raise InvalidInput(f"stage {name!r} needs a 'cmd:' (the shell command to run)")
        extra = set(stage) - STAGE_FIELDS
        if extra:
            raise InvalidInput(
                f"stage {name!r}: unknown field(s) {', '.join(sorted(extra))}; "
                f"a stage has {', '.join(sorted(STAGE_FIELDS))}"
            )
        stage_params = stage.get("params") or {}
        if not isinstance(stage_params, dict):
            raise InvalidInput(f"stage {name!r}: params is a mapping of name -> value")
        stages[str(name)] = {
            "cmd": stage["cmd"],
            "deps": _list(stage.get("deps"), "deps", name),
            "outs": _list(stage.get("outs"), "outs", name),
            "params": stage_params,
        }
    defaults = spec.get("params") or {}
    if not isinstance(defaults, dict):
        raise InvalidInput(f"{path.name}: params is a mapping of name -> value")

    def build(**given: Any) -> None:
        values = {**defaults, **given}
        producers: dict[str, Node] = {}
        order = _order(stages)
        for name in order:
            stage = stages[name]
            params = {**values, **stage["params"]}
            try:
                cmd = string.Template(stage["cmd"]).substitute(params)
            except (KeyError, ValueError) as exc:
                raise InvalidInput(
                    f"stage {name!r}: cmd names an unknown param {exc}; the params are "
                    f"{', '.join(sorted(params)) or 'none'} (write $$ for a literal $)"
                ) from None
            deps: list[Any] = []
            for dep in stage["deps"]:
                producer = _producer(dep, producers)
                if producer is not None:
                    deps.append(producer)
                else:
                    full = project / dep
                    if not full.exists():
                        raise InvalidInput(
                            f"stage {name!r}: dep {dep!r} does not exist and no stage outputs it"
                        )
                    deps.append(FileInput(dep, tree_digest(full)))
            named = {m.group("named") or m.group("braced") for m in _PATTERN.finditer(stage["cmd"])}
            env = {k: v for k, v in params.items() if k in stage["params"] or k in named}
            node = _STAGE(cmd, stage["outs"], deps, env, name).named(name)
            node.hook = lambda client, output, outs=stage["outs"]: _restore(
                client, output, project, outs
            )
            for out in stage["outs"]:
                producers[out] = node

    build.__signature__ = _signature(defaults)  # type: ignore[attr-defined]
    name = spec.get("pipeline") or re.sub(r"[^A-Za-z0-9._-]", "-", project.name)
    found = Pipeline(build, name=str(name), experiment=spec.get("experiment"))
    found.project = str(project)
    return found


def _signature(defaults: dict[str, Any]) -> Any:
    import inspect

    return inspect.Signature(
        [
            inspect.Parameter(str(k), inspect.Parameter.KEYWORD_ONLY, default=v)
            for k, v in defaults.items()
        ]
    )


def _overlaps(dep: str, out: str) -> bool:
    """Whether a dep names an out, a file inside it, or a folder holding it."""
    return dep == out or dep.startswith(out + "/") or out.startswith(dep + "/")


def _producer(dep: str, producers: dict[str, Node]) -> Node | None:
    return next((node for out, node in producers.items() if _overlaps(dep, out)), None)


def _order(stages: dict[str, dict[str, Any]]) -> list[str]:
    """Stages in dependency order (a dep on another stage's out comes after it)."""
    outs = {o: name for name, s in stages.items() for o in s["outs"]}
    needs = {
        name: {outs[o] for d in s["deps"] for o in outs if _overlaps(d, o) and outs[o] != name}
        for name, s in stages.items()
    }
    done: list[str] = []
    while len(done) < len(stages):
        ready = [n for n in stages if n not in done and needs[n] <= set(done)]
        if not ready:
            left = sorted(set(stages) - set(done))
            raise InvalidInput(f"stages {', '.join(left)} depend on each other in a cycle")
        done.extend(ready)
    return done


_STAGE = Step(_run_stage, name="stage", code="shell")
_PATTERN = string.Template.pattern
