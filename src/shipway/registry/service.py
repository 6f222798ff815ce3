"""The registry service: registered models, their versions, aliases and lineage.

Every alias move is recorded (who, when, from, to, why) in the same transaction as the
move; rollback moves an alias back to the version it pointed at before its last move.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.accounts import role_allows
from shipway.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shipway.records import AliasEvent, ModelVersion, RegisteredModel, positive_int
from shipway.registry import card as card_builder
from shipway.registry.packages import PackageRef, find_package, parse_run_uri
from shipway.store import contracts as contracts_repo
from shipway.store import datasets as datasets_repo
from shipway.store import events
from shipway.store import registry as repo
from shipway.store import runs as runs_repo
from shipway.store.db import Database
from shipway.store.tables import dataset_versions, datasets, model_versions, run_inputs, runs
from shipway.tracking.artifacts import ArtifactService
from shipway.tracking.validation import check_slug

ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
PROTECTED_ALIASES = ("production",)
VERSION_STATUSES = ("ready", "deprecated", "archived")


def now_ms() -> int:
    return int(time.time() * 1000)


def check_model_name(name: str) -> str:
    return check_slug("model", name)


def check_alias(alias: str) -> str:
    if isinstance(alias, str) and alias.isdigit():
        raise InvalidInput(
            f"alias {alias!r} looks like a version number; aliases are names such as "
            "'production' or 'champion' (refer to versions by number directly)"
        )
    if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"alias {alias!r} is not valid: a lowercase name starting with a letter "
            "(letters, digits, '-', '_'), e.g. production, staging, champion"
        )
    return alias


def parse_model_uri(uri: str) -> tuple[str, int | None, str | None]:
    """``models:/name/3`` -> (name, 3, None); ``models:/name@prod`` -> (name, None, "prod");
    ``models:/name`` -> (name, None, None) meaning the latest version."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidInput(
            f"{uri!r} is not a model URI; use models:/NAME/VERSION or models:/NAME@ALIAS"
        )
    rest = uri.removeprefix("models:/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return check_model_name(name), None, check_alias(alias)
    name, _, number = rest.partition("/")
    check_model_name(name)
    if number in ("", "latest"):
        return name, None, None
    value = positive_int(number)
    if value is None:
        raise InvalidInput(f"version in {uri!r} must be a positive number")
    return name, value, None


class RegistryService:
    def __init__(
        self,
        db: Database,
        artifacts: ArtifactService,
        actor: str = "unknown",
        role: str = "admin",  # the caller's account role (admin with authentication off)
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        self.actor = actor
        self.role = role

    def with_actor(self, actor: str) -> RegistryService:
        other = copy.copy(self)
        other.actor = actor
        other.artifacts = self.artifacts.with_actor(actor)
        return other

    # packages --------------------------------------------------------------------------

    def register(
        self,
        source: str,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> tuple[ModelVersion, bool]:
        """Register the model package at ``runs:/<run_id>/<path>``."""
        check_model_name(name)
        run_id, path = parse_run_uri(source)
        package = find_package(self.artifacts, run_id, path)
        return self.register_package(
            name,
            run_id=run_id,
            artifact_path=package.path,
            package_digest=package.digest,
            flavor=package.flavor,
            description=description or str(package.meta.get("description") or ""),
            tags=tags,
        )

    def package(self, version: ModelVersion) -> PackageRef:
        return find_package(self.artifacts, version.run_id, version.artifact_path)

    def requirements(self, name: str, version: int, format: str = "requirements") -> str:
        """The version's pinned environment as a requirements.txt, a Conda
        environment.yml (``conda``), a pyproject ``[project]`` fragment or ``json``."""
        from shipway.models.environment import ENV_FORMATS, Requirements, render_environment

        if format not in ENV_FORMATS:
            raise InvalidInput(
                f"environment format {format!r} is not one of {', '.join(ENV_FORMATS)}",
                details={"field": "format"},
            )
        meta = self.package(self.get_version(name, version)).meta
        env = meta.get("requirements") or {}
        if format == "requirements":
            lines = [f"# {name} v{version}: Python {env.get('python', '?')}"]
            lines += [f"{pkg}=={ver}" for pkg, ver in sorted((env.get("packages") or {}).items())]
            return "\n".join(lines) + "\n"
        pinned = Requirements.from_dict({"python": env.get("python", "?"), **env})
        return render_environment(pinned, format, f"{name}-v{version}")

    def card(self, name: str, version: int) -> dict[str, Any]:
        model = self.get_model(name)
        found = self.get_version(name, version)
        return card_builder.build(
            model,
            found,
            self.lineage(name, version),
            self.package(found).meta,
            self.card_sections(name, version),
        )

    # registered models ----------------------------------------------------------------

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Create the registered model if needed and set the given fields."""
        check_model_name(name)
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if owners is not None:
            values["owners"] = orjson.dumps([str(o) for o in owners]).decode()
        if tags is not None:
            values["tags"] = orjson.dumps({str(k): str(v) for k, v in tags.items()}).decode()
        with self.db.write() as conn:
            model_id = repo.ensure_model(conn, name, now_ms(), self.actor)
            if values:
                repo.update_model(conn, model_id, values)
            events.record(conn, self.actor, "update", "model", name, {"fields": list(values)})
            return repo.model_record(conn, repo.model_row(conn, name))

    def get_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return repo.model_record(conn, self.find_model(conn, name))

    def list_models(self) -> list[RegisteredModel]:
        with self.db.read() as conn:
            return repo.list_models(conn)

    def find_model(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        """The registered model's row inside the caller's transaction (``lock``: for
        update); raises :class:`NotFound` naming the fix."""
        check_model_name(name)
        row = repo.model_row(conn, name, lock=lock)
        if row is None:
            raise NotFound(f"no registered model {name!r}; `shipway models list` shows them")
        return row

    # versions --------------------------------------------------------------------------

    def register_package(
        self,
        name: str,
        *,
        run_id: str,
        artifact_path: str,
        package_digest: str,
        flavor: str,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> tuple[ModelVersion, bool]:
        """A new version for this package, or the existing one if it is registered already."""
        check_model_name(name)
        for _ in range(5):
            try:
                with self.db.write() as conn:
                    run_pk = runs_repo.pk_of(conn, run_id)
                    if run_pk is None:
                        raise NotFound(f"no run with id {run_id!r}")
                    model_id = repo.ensure_model(conn, name, now_ms(), self.actor)
                    existing = repo.version_by_digest(conn, model_id, package_digest)
                    if existing is not None:
                        return existing, False
                    number = repo.next_number(conn, model_id)
                    repo.insert_version(
                        conn,
                        {
                            "model_id": model_id,
                            "version": number,
                            "run_pk": run_pk,
                            "artifact_path": artifact_path,
                            "package_digest": package_digest,
                            "flavor": flavor,
                            "description": description,
                            "tags": orjson.dumps(
                                {str(k): str(v) for k, v in (tags or {}).items()}
                            ).decode(),
                            "created_at": now_ms(),
                            "created_by": self.actor,
                        },
                    )
                    events.record(
                        conn,
                        self.actor,
                        "register",
                        "model",
                        name,
                        {"version": number, "run": run_id},
                    )
                    found = repo.version(conn, model_id, number)
                    assert found is not None
                    return found, True
            except sa.exc.IntegrityError:
                continue  # a concurrent register took the number, or the same package
        raise Conflict(f"could not register a version of {name!r}: too many concurrent writers")

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            return self.find_version(conn, self.find_model(conn, name), version)

    def find_version(self, conn: Connection, model: Any, number: int) -> ModelVersion:
        """Version ``number`` of ``model`` (a :meth:`find_model` row) inside the caller's
        transaction; raises :class:`NotFound` naming the latest."""
        if positive_int(number) is None:
            raise InvalidInput(f"version must be a positive number, got {number!r}")
        found = repo.version(conn, model.id, number)
        if found is None:
            latest = repo.next_number(conn, model.id) - 1
            raise NotFound(
                f"model {model.name!r} has no version {number}; the latest is {latest or 'none'}"
            )
        return found

    def resolve(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names."""
        name, number, alias = parse_model_uri(uri)
        with self.db.read() as conn:
            model = self.find_model(conn, name)
            if alias is not None:
                aliases = repo.aliases_of(conn, model.id)
                if alias not in aliases:
                    known = ", ".join(sorted(aliases)) or "none"
                    raise NotFound(f"model {name!r} has no alias {alias!r}; its aliases: {known}")
                number = aliases[alias]
            if number is None:
                number = repo.next_number(conn, model.id) - 1
                if number == 0:
                    raise NotFound(f"model {name!r} has no versions yet")
            return self.find_version(conn, model, number)

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            model = self.find_model(conn, name)
            return repo.versions(conn, model_versions.c.model_id == model.id)

    def update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> ModelVersion:
        values: dict[str, Any] = {}
        if description is not None:
            values["description"] = description
        if tags is not None:
            values["tags"] = orjson.dumps({str(k): str(v) for k, v in tags.items()}).decode()
        if status is not None:
            if status not in VERSION_STATUSES:
                raise InvalidInput(f"status {status!r} is not one of {', '.join(VERSION_STATUSES)}")
            values["status"] = status
        with self.db.write() as conn:
            model = self.find_model(conn, name)
            self.find_version(conn, model, version)
            if values:
                repo.update_version(conn, model.id, version, values)
                events.record(
                    conn, self.actor, "update_version", "model", name, {"version": version}
                )
            return self.find_version(conn, model, version)

    def set_card_section(self, name: str, version: int, title: str, text: str | None) -> None:
        """Keep (or with ``text=None`` drop) a user-written section of the model card."""
        if not title.strip():
            raise InvalidInput("a card section needs a title")
        with self.db.write() as conn:
            model = self.find_model(conn, name)
            self.find_version(conn, model, version)
            sections = repo.card_sections(conn, model.id, version)
            if text is None:
                sections.pop(title, None)
            else:
                sections[title] = text
            repo.update_version(
                conn, model.id, version, {"card_sections": orjson.dumps(sections).decode()}
            )

    def card_sections(self, name: str, version: int) -> dict[str, str]:
        with self.db.read() as conn:
            model = self.find_model(conn, name)
            return repo.card_sections(conn, model.id, version)

    # aliases ---------------------------------------------------------------------------

    def set_alias(self, name: str, version: int, alias: str, reason: str = "") -> AliasEvent:
        number = version
        check_alias(alias)
        self.check_may_move(alias)
        with self.db.write() as conn:
            model = self.find_model(conn, name, lock=True)
            self.find_version(conn, model, number)
            if alias in PROTECTED_ALIASES and contracts_repo.has_contract(conn, model.id):
                raise Conflict(
                    f"{name!r} has a contract: {alias!r} moves only through promotion; run "
                    f"`shipway promote {name} {number} --alias {alias}` (admins may --force)"
                )
            current = repo.aliases_of(conn, model.id).get(alias)
            repo.set_alias(conn, model.id, alias, number)
            return self.record_move(conn, model, alias, current, number, reason)

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        check_alias(alias)
        self.check_may_move(alias)
        with self.db.write() as conn:
            model = self.find_model(conn, name, lock=True)
            current = repo.aliases_of(conn, model.id).get(alias)
            if current is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            repo.delete_alias(conn, model.id, alias)
            return self.record_move(conn, model, alias, current, None, reason)

    def rollback(self, name: str, alias: str, reason: str = "") -> AliasEvent:
        """Move ``alias`` back to the version it pointed at before its last move."""
        check_alias(alias)
        self.check_may_move(alias)
        with self.db.write() as conn:
            model = self.find_model(conn, name, lock=True)
            history = repo.events(conn, model.id, name, alias)
            if not history or history[-1].from_version is None:
                raise Conflict(
                    f"alias {alias!r} of {name!r} has no previous version to roll back to"
                )
            last = history[-1]
            target = last.from_version
            assert target is not None
            repo.set_alias(conn, model.id, alias, target)
            why = reason or f"rollback from version {last.to_version}"
            return self.record_move(conn, model, alias, last.to_version, target, why)

    def may_move(self, alias: str) -> bool:
        """Moving ``production`` is a deployment decision: developers and admins only."""
        return alias not in PROTECTED_ALIASES or role_allows(self.role, "developer")

    def check_may_move(self, alias: str) -> None:
        """Raise ``PermissionDenied`` unless the caller may move ``alias``."""
        if not self.may_move(alias):
            raise PermissionDenied(
                f"moving the {alias!r} alias needs the developer or admin role; "
                f"user {self.actor!r} is {self.role!r}"
            )

    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        if alias is not None:
            check_alias(alias)
        with self.db.read() as conn:
            model = self.find_model(conn, name)
            return repo.events(conn, model.id, name, alias)

    def record_move(
        self,
        conn: Connection,
        model: Any,
        alias: str,
        old: int | None,
        new: int | None,
        reason: str,
    ) -> AliasEvent:
        """Record an alias move the caller made in this transaction: its history and
        the audit event."""
        values = {
            "alias": alias,
            "from_version": old,
            "to_version": new,
            "actor": self.actor,
            "reason": reason,
            "time": now_ms(),
        }
        repo.add_event(conn, model.id, values)
        events.record(conn, self.actor, "move_alias", "model", model.name, values)
        return AliasEvent(model=model.name, **values)  # type: ignore[arg-type]

    # lineage ---------------------------------------------------------------------------

    def lineage(self, name: str, version: int) -> dict[str, Any]:
        """version -> run -> git commit -> dataset versions read -> parent runs."""
        with self.db.read() as conn:
            found = self.find_version(conn, self.find_model(conn, name), version)
            run_pk = runs_repo.pk_of(conn, found.run_id)
            assert run_pk is not None
            run = runs_repo.load(conn, [run_pk])[0]
            inputs = []
            for item in datasets_repo.inputs_of(conn, run_pk):
                ds = datasets_repo.version(conn, item.dataset, item.version)
                inputs.append(
                    {
                        "dataset": f"{item.dataset}@{item.version}",
                        "context": item.context,
                        "manifest_digest": ds.manifest_digest if ds else None,
                        "source": ds.source if ds else None,
                        "created_by": ds.created_by if ds else None,
                    }
                )
            parents: list[dict[str, Any]] = []
            parent_id = run.parent_id
            while parent_id and len(parents) < 50:
                pk = runs_repo.pk_of(conn, parent_id)
                if pk is None:
                    break
                parent = runs_repo.load(conn, [pk])[0]
                parents.append(
                    {"id": parent.id, "name": parent.name, "experiment": parent.experiment}
                )
                parent_id = parent.parent_id
        return {
            "model": found.to_dict() | {"uri": found.uri, "source": found.source},
            "run": {
                "id": run.id,
                "name": run.name,
                "experiment": run.experiment,
                "status": run.status,
                "user": run.user,
                "start_time": run.start_time,
                "params": run.params,
                "metrics": run.to_dict()["metrics"],
                "source": run.source,
            },
            "git": run.git.to_dict(),
            "inputs": inputs,
            "parents": parents,
        }

    def versions_trained_on(self, dataset: str) -> list[ModelVersion]:
        from shipway.datasets.service import parse_ref

        ds_name, ds_version = parse_ref(dataset)
        where = sa.and_(datasets.c.name == ds_name)
        if ds_version is not None:
            where = sa.and_(where, dataset_versions.c.version == ds_version)
        used = (
            sa.select(run_inputs.c.run_pk)
            .join(dataset_versions, dataset_versions.c.id == run_inputs.c.dataset_version_id)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(where)
        )
        with self.db.read() as conn:
            return repo.versions(conn, model_versions.c.run_pk.in_(used))

    def versions_from_run(self, run_id: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            pk = runs_repo.pk_of(conn, run_id)
            if pk is None:
                raise NotFound(f"no run with id {run_id!r}; `shipway runs list` shows run ids")
            return repo.versions(conn, model_versions.c.run_pk == pk)

    def versions_from_commit(self, commit: str) -> list[ModelVersion]:
        if not re.fullmatch(r"[0-9a-f]{4,64}", commit or ""):
            raise InvalidInput(f"{commit!r} is not a git commit (hex, at least 4 characters)")
        from_commit = sa.select(runs.c.pk).where(runs.c.git_commit.like(commit + "%"))
        with self.db.read() as conn:
            return repo.versions(conn, model_versions.c.run_pk.in_(from_commit))
