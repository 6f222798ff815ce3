"""monitoring

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), server_default="{}", nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("action_result", sa.Text(), server_default="{}", nullable=False),
        sa.Column("webhook", sa.Text(), server_default="{}", nullable=False),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
        sa.Column("acked_by", sa.String(length=255), nullable=True),
        sa.Column("acked_at", sa.BigInteger(), nullable=True),
        sa.Column("ack_comment", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_model_rule_fired_at"), ["model", "rule", "fired_at"], unique=False
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "model", "request_id", "row", name=op.f("uq_feedback_model_request_id_row")
        ),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_model_received_at"), ["model", "received_at"], unique=False
        )

    op.create_table(
        "monitor_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("bucket_start", sa.BigInteger(), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_profiles")),
        sa.UniqueConstraint(
            "model",
            "version",
            "arm",
            "bucket_start",
            "bucket_seconds",
            name=op.f("uq_monitor_profiles_model_version_arm_bucket_start_bucket_seconds"),
        ),
    )
    with op.batch_alter_table("monitor_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monitor_profiles_model_bucket_start"),
            ["model", "bucket_start"],
            unique=False,
        )

    op.create_table(
        "monitor_segments",
        sa.Column("segment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("profiled_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", name=op.f("pk_monitor_segments")),
    )
    with op.batch_alter_table("monitor_segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_segments_model"), ["model"], unique=False)

    op.create_table(
        "monitor_state",
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), server_default="3600", nullable=False),
        sa.Column("last_run_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_monitor_state")),
    )
    op.create_table(
        "reference_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=300), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_profiles")),
        sa.UniqueConstraint("model", "version", name=op.f("uq_reference_profiles_model_version")),
    )


def downgrade() -> None:
    op.drop_table("reference_profiles")
    op.drop_table("monitor_state")
    with op.batch_alter_table("monitor_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_segments_model"))

    op.drop_table("monitor_segments")
    with op.batch_alter_table("monitor_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_profiles_model_bucket_start"))

    op.drop_table("monitor_profiles")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_model_received_at"))

    op.drop_table("feedback")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_model_rule_fired_at"))

    op.drop_table("alerts")
