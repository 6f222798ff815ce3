"""The metadata schema, as SQLAlchemy Core tables.

Core, not the ORM: metric ingest inserts hundreds of thousands of rows per second and the
ORM's unit of work would cost more than the database. Migrations in ``migrations/versions``
must produce exactly this schema (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

from shipway.records import KEY_LEN

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user", sa.String(255), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("parent_pk", sa.Integer, sa.ForeignKey("runs.pk"), nullable=True),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("git_branch", sa.String(255), nullable=True),
    sa.Column("git_remote", sa.Text, nullable=True),
    sa.Column("git_dirty", sa.Boolean, nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "experiment_id", "start_time"),
    sa.Index(None, "git_commit"),
    sa.Index(None, "parent_pk"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index(None, "key", "run_pk"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index(None, "key", "run_pk"),
)

# Metric series are stored in chunks: one row per (run, key, logged batch), holding the
# values, steps and timestamps as little-endian float64/int64 arrays. A batch of 100,000
# points is then ten inserts, not 100,000, and NaN and +/-inf are kept bit for bit on
# every database. Search never reads chunks: it reads ``latest_metrics``.
metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), nullable=False),
    sa.Column("key", sa.String(KEY_LEN), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("min_step", sa.BigInteger, nullable=False),
    sa.Column("max_step", sa.BigInteger, nullable=False),
    sa.Column("values", sa.LargeBinary, nullable=False),
    sa.Column("steps", sa.LargeBinary, nullable=False),
    sa.Column("timestamps", sa.LargeBinary, nullable=False),
    sa.Index(None, "run_pk", "key", "id"),
)

# The latest point per (run, key): highest step, then latest timestamp. Search and run
# summaries read this table, never the series. NaN is stored as NULL here (SQLite cannot
# hold NaN), so a NaN latest value matches no comparison.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("value", sa.Double, nullable=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Index(None, "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(255), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.Index(None, "object_type", "object_id"),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
)

# A version is a manifest (a blob listing path, size, digest and mode of every file) plus
# provenance and the profiles of its tabular files. The row is written last, in one
# transaction, after every blob is stored: an interrupted add leaves no version.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("manifest_digest", sa.String(64), nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("total_size", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), nullable=True),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("profile", sa.Text, nullable=True),
    sa.UniqueConstraint("dataset_id", "version"),
    sa.Index(None, "manifest_digest"),
)

# Which dataset versions a run read, and as what (training, validation, holdout, ...).
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), primary_key=True),
    sa.Column(
        "dataset_version_id", sa.Integer, sa.ForeignKey("dataset_versions.id"), primary_key=True
    ),
    sa.Column("context", sa.String(64), primary_key=True),
    sa.Index(None, "dataset_version_id"),
)

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("owners", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
)

# A version points at one model package: the artifacts under ``artifact_path`` of its run,
# identified by ``package_digest`` (the BLAKE3 of its model.yaml, which lists the digest of
# every other file). The same package registered twice is the same version.
model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), nullable=False),
    sa.Column("artifact_path", sa.String(1024), nullable=False),
    sa.Column("package_digest", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, server_default="ready"),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("card_sections", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.UniqueConstraint("model_id", "version"),
    sa.UniqueConstraint("model_id", "package_digest"),
    sa.Index(None, "run_pk"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# Every alias move, in order: rollback reads it, `shipway models history` prints it.
alias_events = sa.Table(
    "alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Index(None, "model_id", "alias", "id"),
)

# A model logged by MLflow's client (``mlflow.<flavor>.log_model``): its files are the
# artifacts under ``artifact_path`` of the run at ``run_pk`` (the run that logged it, or one
# made to hold them), so one store keeps them and they register like any package.
logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # "m-" + 32 hex, as MLflow's
    sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.pk"), nullable=False),
    sa.Column("source_run", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("artifact_path", sa.String(1024), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("model_type", sa.String(255), nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "run_pk"),
    sa.Index(None, "experiment_id", "created_at"),
)

# What an import brought in: (where from, what kind, its id there) -> its id here, so a
# second import of the same store skips what the first one finished.
imported = sa.Table(
    "imported",
    metadata,
    sa.Column("source", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("external_id", sa.String(255), primary_key=True),
    sa.Column("local_id", sa.String(255), nullable=False),
    sa.Column("imported_at", sa.BigInteger, nullable=False),
)

# serving -------------------------------------------------------------------------------

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("spec", sa.Text, nullable=False),  # JSON: model URI and traffic policy
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("api_key_hash", sa.String(64), nullable=True),  # SHA-256 of the key, or none
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

prediction_segments = sa.Table(
    "prediction_segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("first_time", sa.BigInteger, nullable=False),  # ms since the epoch
    sa.Column("last_time", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),  # the Parquet file in the blob store
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "model", "last_time"),
)

# contracts -----------------------------------------------------------------------------

# Each version of a model's contract: the YAML as written (``text``) and its validated,
# normalised form (``spec``, JSON). Versions are immutable; a new text is a new version.
contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.UniqueConstraint("model_id", "version"),
)

gate_reports = sa.Table(
    "gate_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("contract_version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # passed | failed | error
    sa.Column("checks", sa.Text, nullable=False),  # JSON list of check results
    sa.Column("baseline", sa.Text, nullable=False, server_default="{}"),  # alias -> version
    sa.Column("seconds", sa.Double, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Index(None, "model_id", "model_version", "id"),
)

# Sign-offs (decision approve) and rejections, per role; the latest decision of a person
# under a role is the one that counts.
approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),  # approve | reject
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "model_id", "model_version", "id"),
)

# Review feedback: a rating and a comment that never count as a sign-off.
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "model_id", "model_version", "id"),
)

# Every promotion attempt, granted or refused, with what was missing.
promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # promoted | forced | refused
    sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("report_id", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "model_id", "id"),
)

# monitoring ----------------------------------------------------------------------------

# A model version's reference profile: sketches of its training (or a named) dataset's
# features and of its predictions on it. ``data`` is a serialised ``Profile``.
reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("dataset", sa.String(300), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("model", "version"),
)

# Production profiles: one per model version, traffic arm and time bucket, built from the
# prediction log once (``monitor_segments`` lists the segments done) and merged for any
# window.
monitor_profiles = sa.Table(
    "monitor_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("bucket_start", sa.BigInteger, nullable=False),  # ms since the epoch
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("model", "version", "arm", "bucket_start", "bucket_seconds"),
    sa.Index(None, "model", "bucket_start"),
)

# Per model: the bucket its profiles use and when monitoring last ran (its row is also
# what concurrent runs of one model lock).
monitor_state = sa.Table(
    "monitor_state",
    metadata,
    sa.Column("model", sa.String(255), primary_key=True),
    sa.Column("bucket_seconds", sa.Integer, nullable=False, server_default="3600"),
    sa.Column("last_run_at", sa.BigInteger, nullable=True),
)

# The prediction-log segments already in the profiles: each is profiled exactly once, even
# when segments commit out of id order.
monitor_segments = sa.Table(
    "monitor_segments",
    metadata,
    sa.Column("segment_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("profiled_at", sa.BigInteger, nullable=False),
    sa.Index(None, "model"),
)

# Ground truth, joined to the prediction log by (request id, row).
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False),  # JSON scalar
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.UniqueConstraint("model", "request_id", "row"),
    sa.Index(None, "model", "received_at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | acked
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(16), nullable=False, server_default="none"),
    sa.Column("action_result", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("webhook", sa.Text, nullable=False, server_default="{}"),  # JSON: delivery
    sa.Column("fired_at", sa.BigInteger, nullable=False),
    sa.Column("acked_by", sa.String(255), nullable=True),
    sa.Column("acked_at", sa.BigInteger, nullable=True),
    sa.Column("ack_comment", sa.Text, nullable=False, server_default=""),
    sa.Index(None, "model", "rule", "fired_at"),
)

# pipelines -----------------------------------------------------------------------------

# A pipeline known to the platform: where its definition lives, so a schedule, a new
# dataset version or a monitoring alert can start it without a person.
pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),  # FILE.py[:ATTR] or shipway.yaml
    sa.Column("project", sa.Text, nullable=False),  # the folder it runs in
    sa.Column("experiment", sa.String(255), nullable=False),
    sa.Column("steps", sa.Text, nullable=False, server_default="[]"),  # JSON: the last graph
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# One execution of a pipeline: its parent run, what started it and how it ended.
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipelines.id"), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),  # the parent run, once started
    sa.Column("status", sa.String(16), nullable=False),  # queued|running|finished|failed
    sa.Column("trigger", sa.String(16), nullable=False),  # manual|schedule|dataset|alert|api
    sa.Column("trigger_detail", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("outcome", sa.Text, nullable=False, server_default=""),
    sa.Column("steps", sa.Text, nullable=False, server_default="{}"),  # JSON: step -> result
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("requested_at", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=True),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Index(None, "pipeline_id", "requested_at"),
    sa.Index(None, "status"),
)

# What a step produced under one cache key (its code, params and input digests hashed).
pipeline_cache = sa.Table(
    "pipeline_cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("pipeline", sa.String(128), nullable=False),
    sa.Column("step", sa.String(255), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=False),  # the step run holding the outputs
    sa.Column("output", sa.Text, nullable=False),  # JSON: kind, digest, path, files
    sa.Column("components", sa.Text, nullable=False),  # JSON: code, params, inputs digests
    sa.Column("duration_ms", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index(None, "pipeline", "step", "created_at"),
)

# What starts a pipeline by itself: a cron schedule or a new version of a dataset.
pipeline_schedules = sa.Table(
    "pipeline_schedules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipelines.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # cron | dataset
    sa.Column("spec", sa.String(255), nullable=False),  # the cron expression or dataset
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("last_fired", sa.BigInteger, nullable=True),
    sa.Column("seen", sa.Integer, nullable=False, server_default="0"),  # last dataset version
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.UniqueConstraint("pipeline_id", "kind", "spec"),
)
