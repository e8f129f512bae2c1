"""Writes a change may leave to the end of its transaction: its audit rows, the revision
bump and a question's updated_at after a forecast. Inside `deferring(conn)` (the group
writer's batches), audit.record, bump_revision and touch_question queue them here, and they
are written once for the whole transaction just before COMMIT: one executemany for every
audit row of the batch, one for the touched questions and one UPDATE of the revision
counter, instead of a round of statement execution per change for each. Outside it they are
written at once, as before.

Why this is safe: they only append (audit rows), count (the revision) or stamp a time
(updated_at), nothing in a change reads them back, and they still land in the change's own
transaction, so a change and its audit rows commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, insert, update

from forecasts.tables import audit_t, questions_t, revision_t

INSERT_ENTRY = insert(audit_t)
BUMP_REVISION = update(revision_t).where(revision_t.c.id == 1).values(value=revision_t.c.value + 1)
# Never moves updated_at back: a stamp queued early in a batch lands after later changes.
TOUCH_QUESTION = (
    update(questions_t)
    .where(questions_t.c.id == bindparam("touched_id"))
    .values(
        updated_at=case(
            (questions_t.c.updated_at < bindparam("touched_at"), bindparam("touched_at")),
            else_=questions_t.c.updated_at,
        )
    )
)
_KEY = "forecasts.deferred_writes"


@dataclass
class Deferred:
    """What the changes of one transaction left for its end."""

    audit_rows: list[dict[str, Any]] = field(default_factory=list)
    touched: list[dict[str, Any]] = field(default_factory=list)
    bump: bool = False

    def mark(self) -> tuple[int, int, bool]:
        """Where the queue stands, to go back to if the next change fails alone."""
        return len(self.audit_rows), len(self.touched), self.bump

    def undo_to(self, mark: tuple[int, int, bool]) -> None:
        """Forget what a change queued after `mark` (its savepoint was rolled back)."""
        del self.audit_rows[mark[0] :]
        del self.touched[mark[1] :]
        self.bump = mark[2]

    def flush(self, conn: Connection) -> None:
        if self.audit_rows:
            conn.execute(INSERT_ENTRY, self.audit_rows)
            self.audit_rows = []
        if self.touched:
            conn.execute(TOUCH_QUESTION, self.touched)
            self.touched = []
        if self.bump:
            conn.execute(BUMP_REVISION)
            self.bump = False


@contextmanager
def deferring(conn: Connection) -> Iterator[Deferred]:
    """Queue audit rows and the revision bump made on `conn` until the block ends; they are
    written when it ends without error (the caller commits after), dropped otherwise."""
    deferred = Deferred()
    conn.info[_KEY] = deferred
    try:
        yield deferred
        deferred.flush(conn)
    finally:
        conn.info.pop(_KEY, None)


def append_audit_row(conn: Connection, row: dict[str, Any]) -> None:
    deferred: Deferred | None = conn.info.get(_KEY)
    if deferred is None:
        conn.execute(INSERT_ENTRY, row)
    else:
        deferred.audit_rows.append(row)


def bump_revision(conn: Connection) -> None:
    deferred: Deferred | None = conn.info.get(_KEY)
    if deferred is None:
        conn.execute(BUMP_REVISION)
    else:
        deferred.bump = True


def touch_question(conn: Connection, question_id: int, at: datetime) -> None:
    """Stamp a question's updated_at (a forecast was added to it)."""
    row = {"touched_id": question_id, "touched_at": at}
    deferred: Deferred | None = conn.info.get(_KEY)
    if deferred is None:
        conn.execute(TOUCH_QUESTION, row)
    else:
        deferred.touched.append(row)
