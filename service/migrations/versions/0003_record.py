"""The honest record: an append-only audit log, forecaster identity, token lifecycle, and
constraints that keep probabilities and outcomes sound whatever writes to the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit rows are append-only"
PROBABILITY_RULE = "probability BETWEEN 0 AND 1"
# Written so that it is never NULL (a CHECK or a trigger's WHEN lets NULL through): a
# resolved question with no outcome must fail it, not slip past three-valued logic.
OUTCOME_RULE = (
    "(status = 'open' AND outcome IS NULL) OR "
    "(status = 'resolved' AND COALESCE(outcome, '') IN ('yes', 'no')) OR "
    "(status = 'annulled' AND outcome IS NULL)"
)


def _identity(name: str) -> str:
    # Frozen copy of forecasts.identity.forecaster_key as of this revision: a migration
    # must not change meaning when the code it shipped with does.
    return " ".join(name.split()).casefold()


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        # No foreign key: the record outlives whatever it describes.
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_question_id", "audit_log", ["question_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])

    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("forecaster_key", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.create_index("ix_forecasts_forecaster_key", ["forecaster_key"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    forecasts = sa.table(
        "forecasts",
        sa.column("id", sa.Integer),
        sa.column("forecaster", sa.String),
        sa.column("forecaster_key", sa.String),
    )
    # One identity per name; each keeps its first spelling for display.
    first_spelling: dict[str, str] = {}
    rows = conn.execute(sa.select(forecasts.c.id, forecasts.c.forecaster).order_by(forecasts.c.id))
    updates = []
    for row in rows:
        key = _identity(row.forecaster)
        shown = first_spelling.setdefault(key, row.forecaster)
        updates.append({"row_id": row.id, "key": key, "shown": shown})
    if updates:
        conn.execute(
            forecasts.update()
            .where(forecasts.c.id == sa.bindparam("row_id"))
            .values(forecaster_key=sa.bindparam("key"), forecaster=sa.bindparam("shown")),
            updates,
        )

    if conn.dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.create_check_constraint("ck_forecasts_probability", "forecasts", PROBABILITY_RULE)
        op.create_check_constraint("ck_questions_outcome", "questions", OUTCOME_RULE)
    else:
        # SQLite cannot add a CHECK constraint without rebuilding the table (and a rebuild
        # under foreign_keys=ON would cascade-delete the forecasts), so the same rules are
        # triggers that abort the offending statement.
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER ck_forecasts_probability_{event.lower()} BEFORE {event} "
                f"ON forecasts WHEN NOT (NEW.{PROBABILITY_RULE}) "
                "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: probability in [0, 1]'); END"
            )
            rule = OUTCOME_RULE.replace("status", "NEW.status").replace("outcome", "NEW.outcome")
            op.execute(
                f"CREATE TRIGGER ck_questions_outcome_{event.lower()} BEFORE {event} "
                f"ON questions WHEN NOT ({rule}) "
                "BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: status and outcome'); END"
            )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.drop_constraint("ck_questions_outcome", "questions", type_="check")
        op.drop_constraint("ck_forecasts_probability", "forecasts", type_="check")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        for name in (
            "audit_log_no_update",
            "audit_log_no_delete",
            "ck_forecasts_probability_insert",
            "ck_forecasts_probability_update",
            "ck_questions_outcome_insert",
            "ck_questions_outcome_update",
        ):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.drop_index("ix_forecasts_forecaster_key")
        batch_op.drop_column("forecaster_key")
    op.drop_table("audit_log")
