"""The scheduler: persistent jobs, one per enabled source, run by exactly one elected process."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from sqlalchemy import func, select, text, update

from forecasts.questions import create_question, utc_today
from forecasts.schemas import QuestionCreate
from forecasts.tables import news_t as news_items
from forecasts.tables import sources_t as sources
from forecasts.tables import suggestions_t as suggestions
from service.db import Database
from service.scheduler import (
    DEADLINE_JOB_ID,
    LEADER_LOCK_ID,
    NOTIFY_JOB_ID,
    SourceScheduler,
    deadline_job,
    first_run_time,
    poll_source_job,
    source_job_id,
    start_scheduler,
)
from service.schemas import SourceCreate
from service.sourceconfig import create_source
from tests import waiting
from tests.conftest import make_settings

# Jobs in these tests are scheduled an hour out, so none runs while a test looks at them.
LATER = timedelta(hours=1)
FAST = {"retry_seconds": 0.05, "first_run_delay": LATER}


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; returns whether it held."""
    try:
        return bool(waiting.wait_until(condition, timeout, "a condition", interval=0.02))
    except AssertionError:
        return bool(condition())


def add_source(db: Database, name: str, **values: object) -> int:
    spec = SourceCreate.model_validate(
        {"name": name, "kind": "archive", "url": "package:seeds/archive.json", **values}
    )
    with db.write() as conn:
        return create_source(conn, spec)


def stored_job_ids(db: Database) -> list[str]:
    """The job ids in the persistent job store, read straight from its table."""
    with db.read() as conn:
        return sorted(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


@pytest.fixture
def opened() -> Iterator[list[Database]]:
    """Databases a test opens, disposed at its end."""
    databases: list[Database] = []
    yield databases
    for database in databases:
        database.dispose()


@pytest.fixture
def schedulers(opened: list[Database]) -> Iterator[list[SourceScheduler]]:
    """Schedulers a test starts, shut down at its end (before their databases close)."""
    started: list[SourceScheduler] = []
    yield started
    for scheduler in reversed(started):
        scheduler.shutdown()


@pytest.fixture
def open_process(
    opened: list[Database], schedulers: list[SourceScheduler]
) -> Callable[[Database], SourceScheduler]:
    """Start a scheduler as another process on `db`'s database would: its own engine."""

    def start(db: Database, **options: Any) -> SourceScheduler:
        url = db.url.render_as_string(hide_password=False)
        database = Database(url, make_settings(url))
        opened.append(database)
        scheduler = start_scheduler(database, database.settings, **{**FAST, **options})
        schedulers.append(scheduler)
        return scheduler

    return start


def stop(scheduler: SourceScheduler, schedulers: list[SourceScheduler]) -> None:
    scheduler.shutdown()
    schedulers.remove(scheduler)


def test_first_run_time_is_an_interval_after_the_last_poll_but_never_in_the_past() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    delay = timedelta(seconds=10)
    assert first_run_time(None, 60, now, delay) == now + delay
    recent = now - timedelta(minutes=20)
    assert first_run_time(recent, 60, now, delay) == recent + timedelta(minutes=60)
    overdue = now - timedelta(days=3)
    assert first_run_time(overdue, 60, now, delay) == now + delay


def test_jobs_follow_the_enabled_sources_with_times_from_the_frozen_clock(
    sqlite_db: Database, freezer: FrozenDateTimeFactory, schedulers: list[SourceScheduler]
) -> None:
    freezer.move_to("2024-05-01T12:00:00Z")
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    never = add_source(sqlite_db, "never polled", poll_every_minutes=60)
    recent = add_source(sqlite_db, "polled recently", poll_every_minutes=90)
    off = add_source(sqlite_db, "disabled", enabled=False)
    with sqlite_db.write() as conn:
        conn.execute(
            update(sources)
            .where(sources.c.id == recent)
            .values(last_polled_at=now - timedelta(minutes=30))
        )
    scheduler = start_scheduler(
        sqlite_db, sqlite_db.settings, retry_seconds=0.05, first_run_delay=timedelta(seconds=10)
    )
    schedulers.append(scheduler)

    assert scheduler.running
    jobs = {job.id: job for job in scheduler.jobs()}
    assert set(jobs) == {
        source_job_id(never),
        source_job_id(recent),
        DEADLINE_JOB_ID,
        NOTIFY_JOB_ID,
    }
    assert source_job_id(off) not in jobs
    assert jobs[source_job_id(never)].next_run_time == now + timedelta(seconds=10)
    assert jobs[source_job_id(recent)].next_run_time == now + timedelta(minutes=60)
    assert jobs[source_job_id(recent)].trigger.interval == timedelta(minutes=90)
    # The deadline check runs once a day, just after "today" (UTC) moves on.
    assert jobs[DEADLINE_JOB_ID].next_run_time == datetime(2024, 5, 2, 0, 5, tzinfo=UTC)
    job = jobs[source_job_id(never)]
    assert job.func_ref == "service.scheduler:poll_source_job"
    assert list(job.args) == [never]
    # A poll missed while no process ran is made up once, however late.
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)


def test_jobs_persist_across_a_restart_once_each(
    sqlite_db: Database,
    open_process: Callable[..., SourceScheduler],
    schedulers: list[SourceScheduler],
) -> None:
    kept = add_source(sqlite_db, "kept")
    dropped = add_source(sqlite_db, "deleted while stopped")
    first = open_process(sqlite_db)
    expected = sorted([source_job_id(kept), source_job_id(dropped), DEADLINE_JOB_ID, NOTIFY_JOB_ID])
    assert stored_job_ids(sqlite_db) == expected
    before = {job.id: job.next_run_time for job in first.jobs()}
    stop(first, schedulers)
    assert not first.running
    # Stopped, the jobs stay in the database.
    assert stored_job_ids(sqlite_db) == expected

    with sqlite_db.write() as conn:
        conn.execute(sources.delete().where(sources.c.id == dropped))
    added = add_source(sqlite_db, "added while stopped")
    second = open_process(sqlite_db)
    assert second.running
    ids = stored_job_ids(sqlite_db)
    assert ids == sorted(
        [source_job_id(kept), source_job_id(added), DEADLINE_JOB_ID, NOTIFY_JOB_ID]
    )
    after = {job.id: job.next_run_time for job in second.jobs()}
    # A job that was kept keeps its next run: a restart does not push polls back.
    assert after[source_job_id(kept)] == before[source_job_id(kept)]
    assert after[DEADLINE_JOB_ID] == before[DEADLINE_JOB_ID]


def test_source_changes_add_reschedule_and_remove_jobs(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    scheduler = start_scheduler(sqlite_db, sqlite_db.settings, **FAST)
    schedulers.append(scheduler)
    source_id = add_source(sqlite_db, "changing", poll_every_minutes=60)
    job_id = source_job_id(source_id)
    assert scheduler.jobs() and job_id not in {j.id for j in scheduler.jobs()}

    scheduler.source_changed(source_id)
    assert job_id in stored_job_ids(sqlite_db)

    with sqlite_db.write() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(poll_every_minutes=15))
    scheduler.source_changed(source_id)
    job = next(j for j in scheduler.jobs() if j.id == job_id)
    assert job.trigger.interval == timedelta(minutes=15)

    with sqlite_db.write() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(enabled=False))
    scheduler.source_changed(source_id)
    assert job_id not in stored_job_ids(sqlite_db)

    with sqlite_db.write() as conn:
        conn.execute(update(sources).where(sources.c.id == source_id).values(enabled=True))
    scheduler.source_changed(source_id)
    assert job_id in stored_job_ids(sqlite_db)
    scheduler.source_removed(source_id)
    assert job_id not in stored_job_ids(sqlite_db)


def test_leader_resyncs_changes_made_by_other_processes(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    scheduler = start_scheduler(
        sqlite_db,
        sqlite_db.settings,
        retry_seconds=0.05,
        resync_seconds=0.0,
        first_run_delay=LATER,
    )
    schedulers.append(scheduler)
    # Added without telling this scheduler, as another process's API would.
    source_id = add_source(sqlite_db, "added elsewhere")
    assert wait_until(lambda: source_job_id(source_id) in stored_job_ids(sqlite_db))


def test_exactly_one_of_two_processes_leads_and_the_other_takes_over(
    db: Database,
    open_process: Callable[..., SourceScheduler],
    schedulers: list[SourceScheduler],
) -> None:
    shared = add_source(db, "shared")
    first = open_process(db)
    second = open_process(db)
    assert first.running
    # The second keeps retrying (every 0.05 s here) and must still not get in.
    assert not wait_until(lambda: second.running, timeout=0.5)
    assert second.jobs() == []

    stop(first, schedulers)
    assert not first.running
    assert wait_until(lambda: second.running)
    assert {job.id for job in second.jobs()} == {
        source_job_id(shared),
        DEADLINE_JOB_ID,
        NOTIFY_JOB_ID,
    }


def test_sqlite_leader_holds_a_lock_file_next_to_the_database(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    scheduler = start_scheduler(sqlite_db, sqlite_db.settings, **FAST)
    schedulers.append(scheduler)
    database_file = Path(str(sqlite_db.url.database))
    assert Path(f"{database_file}.scheduler.lock").exists()
    assert scheduler.running


def test_a_standby_takes_over_when_the_postgres_leader_loses_its_session(
    request: pytest.FixtureRequest, open_process: Callable[..., SourceScheduler]
) -> None:
    url = request.getfixturevalue("pg_url")
    admin = Database(url, make_settings(url))
    try:
        leader = open_process(admin)
        standby = open_process(admin)
        assert leader.running and not standby.running
        # What the server sees when the leader's process dies: its session ends.
        with admin.engine.connect() as conn:
            ended = (
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND objid = :lock_id"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    ),
                    {"lock_id": LEADER_LOCK_ID},
                )
                .scalars()
                .all()
            )
            conn.commit()
        assert ended == [True]
        assert wait_until(lambda: standby.running and not leader.running)
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text("DELETE FROM apscheduler_jobs"))
        admin.dispose()


def test_jobs_refuse_to_run_without_an_elected_scheduler() -> None:
    with pytest.raises(RuntimeError, match="no scheduler"):
        poll_source_job(1)


def _source_row(db: Database, source_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(sources).where(sources.c.id == source_id)).one()


def test_a_due_source_job_polls_the_offline_archive(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    source_id = add_source(sqlite_db, "offline-archive")
    scheduler = start_scheduler(
        sqlite_db, sqlite_db.settings, retry_seconds=0.05, first_run_delay=timedelta(0)
    )
    schedulers.append(scheduler)
    assert wait_until(lambda: _source_row(sqlite_db, source_id).last_polled_at is not None, 60)
    row = _source_row(sqlite_db, source_id)
    assert row.last_status == "ok", row.last_error
    assert row.items_seen > 0
    with sqlite_db.read() as conn:
        stored = conn.execute(
            select(func.count()).select_from(news_items).where(news_items.c.source_id == source_id)
        ).scalar_one()
    assert stored == row.items_seen


def test_the_deadline_job_raises_suggestions_and_polls_no_source(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    source_id = add_source(sqlite_db, "offline-archive")
    spec = QuestionCreate(
        title="Will the long-closed window see the event?",
        resolution_criteria="Yes if the event happens by the deadline.",
        opened_on=date(2015, 11, 1),
        resolve_by=date(2016, 1, 31),
        news_query="nothing-matches-this-zzz",
    )
    with sqlite_db.write() as conn:
        question_id = create_question(conn, spec, today=utc_today(), actor="test")
    scheduler = start_scheduler(sqlite_db, sqlite_db.settings, **FAST)
    schedulers.append(scheduler)

    deadline_job()

    with sqlite_db.read() as conn:
        raised = conn.execute(
            select(suggestions.c.outcome, suggestions.c.status).where(
                suggestions.c.question_id == question_id
            )
        ).all()
    assert [(r.outcome, r.status) for r in raised] == [("no", "pending")]
    assert _source_row(sqlite_db, source_id).last_polled_at is None


# A process that takes part in the election and says "leader" or "standby" on each change.
CHILD = """
import sys, threading
from datetime import timedelta
from service.db import Database
from service.scheduler import start_scheduler
from tests import waiting
from tests.conftest import make_settings

url = sys.argv[1]
db = Database(url, make_settings(url))
scheduler = start_scheduler(db, db.settings, retry_seconds=0.05, first_run_delay=timedelta(hours=1))
said = None
while True:
    state = "leader" if scheduler.running else "standby"
    if state != said:
        print(state, flush=True)
        said = state
    threading.Event().wait(0.02)
"""


class Child:
    """A child process running CHILD; its last reported state is read from its output."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, url],
            cwd=Path(__file__).parent.parent,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.states: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.states.append(line.strip())

    @property
    def state(self) -> str | None:
        return self.states[-1] if self.states else None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.mark.slow
def test_when_the_leader_process_is_killed_another_process_takes_over(db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    first = Child(url)
    second: Child | None = None
    try:
        assert wait_until(lambda: first.state == "leader", 60)
        second = Child(url)
        assert wait_until(lambda: second.state is not None, 60)
        assert second.state == "standby"
        # SIGKILL: no clean shutdown; only the server (or kernel) noticing the death frees it.
        first.kill()
        assert wait_until(lambda: second.state == "leader", 30)
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_source_jobs_only_fetch_and_share_one_matching_pass(
    sqlite_db: Database, schedulers: list[SourceScheduler]
) -> None:
    """Two sources polled by their jobs store their items unmatched and leave one matching
    job waiting; that one pass then matches the items of both and raises the suggestions."""
    from service.scheduler import MATCH_JOB_ID, match_job

    first = add_source(sqlite_db, "archive one")
    second = add_source(sqlite_db, "archive two", url="package:seeds/archive.json")
    with sqlite_db.write() as conn:
        create_question(
            conn,
            QuestionCreate(
                title="Will Russia announce a withdrawal of its forces from Syria?",
                resolution_criteria="YES on an announced withdrawal of Russian forces.",
                opened_on=date(2015, 11, 1),
                resolve_by=date(2016, 12, 31),
                news_query="Russia withdraw Syria",
            ),
            today=utc_today(),
            actor="test",
        )
    scheduler = start_scheduler(sqlite_db, sqlite_db.settings, match_delay=LATER, **FAST)
    schedulers.append(scheduler)

    poll_source_job(first)
    poll_source_job(second)

    with sqlite_db.read() as conn:
        unmatched = conn.execute(
            select(func.count()).select_from(news_items).where(news_items.c.matched.is_(False))
        ).scalar_one()
        raised = conn.execute(select(func.count()).select_from(suggestions)).scalar_one()
    assert unmatched > 0 and raised == 0, "a poll job fetches and stores, it does not match"
    waiting_jobs = [job.id for job in scheduler.jobs() if job.id == MATCH_JOB_ID]
    assert waiting_jobs == [MATCH_JOB_ID], "both sources share one waiting matching pass"

    match_job()

    with sqlite_db.read() as conn:
        unmatched = conn.execute(
            select(func.count()).select_from(news_items).where(news_items.c.matched.is_(False))
        ).scalar_one()
        raised = conn.execute(select(func.count()).select_from(suggestions)).scalar_one()
    assert unmatched == 0
    assert raised > 0
