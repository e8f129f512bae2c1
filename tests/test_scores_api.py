"""GET /api/scores, per-question scores and their CSV downloads, on SQLite and PostgreSQL.

Data goes in through the API (questions, forecasts, resolutions); figures are checked
against API.md's formulas worked by hand.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from freezegun.api import FrozenDateTimeFactory

from forecasts.questions import add_forecast, resolve_question
from forecasts.schemas import ForecastIn, ResolveIn
from service.db import Database
from tests.conftest import ADMIN, make_settings

Z = 1.959964


def create(
    client: TestClient, title: str, *, tags: list[str] | None = None, **extra: object
) -> int:
    body = {
        "title": title,
        "resolution_criteria": "As the title says, by resolve_by.",
        "resolve_by": "2026-12-31",
        "tags": tags or [],
        **extra,
    }
    response = client.post("/api/questions", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def forecast(
    client: TestClient, question_id: int, who: str, p: float, made_on: str | None = None
) -> None:
    body: dict[str, object] = {"forecaster": who, "probability": p}
    if made_on is not None:
        body["made_on"] = made_on
    response = client.post(f"/api/questions/{question_id}/forecasts", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text


def resolve(
    client: TestClient, question_id: int, outcome: str, resolved_on: str | None = None
) -> None:
    body: dict[str, object] = {"outcome": outcome}
    if resolved_on is not None:
        body["resolved_on"] = resolved_on
    response = client.post(f"/api/questions/{question_id}/resolve", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text


def scores(client: TestClient, **params: object) -> dict:
    response = client.get("/api/scores", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson interval, written out as API.md defines it (z = 1.959964)."""
    rate = successes / n
    denominator = 1 + Z * Z / n
    centre = (rate + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(rate * (1 - rate) / n + Z * Z / (4 * n * n)) / denominator
    return centre - half, centre + half


@pytest.fixture
def scored(client: TestClient, freezer: FrozenDateTimeFactory) -> TestClient:
    """Three resolved questions, one annulled, one open:

    Q1 (econ)        alice 0.8, bob 0.4   resolved yes on 2026-07-01
    Q2 (econ, a_b)   alice 0.3, bob 0.6   resolved no  on 2026-07-02
    Q3 (politics)    alice 0.7            resolved yes on 2026-07-03
    Q4               alice 0.1, bob 0.9   annulled (not scored)
    Q5               carol 0.5            open (carol is known but has no scored pair)
    """
    freezer.move_to("2026-07-15T12:00:00Z")
    opened = {"opened_on": "2026-06-01"}
    q1 = create(client, "Will the first event happen?", tags=["econ"], **opened)
    q2 = create(client, "Will the second event happen?", tags=["econ", "a_b"], **opened)
    q3 = create(client, "Will the third event happen?", tags=["politics"], **opened)
    q4 = create(client, "Will the annulled event happen?", **opened)
    q5 = create(client, "Will the open event happen?", **opened)
    for question_id, who, p in [
        (q1, "alice", 0.8),
        (q1, "bob", 0.4),
        (q2, "alice", 0.3),
        (q2, "bob", 0.6),
        (q3, "alice", 0.7),
        (q4, "alice", 0.1),
        (q4, "bob", 0.9),
        (q5, "carol", 0.5),
    ]:
        forecast(client, question_id, who, p, made_on="2026-06-01")
    resolve(client, q1, "yes", "2026-07-01")
    resolve(client, q2, "no", "2026-07-02")
    resolve(client, q3, "yes", "2026-07-03")
    resolve(client, q4, "annulled", "2026-07-04")
    return client


def test_scores_by_hand(scored: TestClient) -> None:
    """Pairs (p, o): (0.8, 1) (0.4, 1) (0.3, 0) (0.6, 0) (0.7, 1); the annulled Q4 is out.

    brier = mean (p − o)² = (0.04 + 0.36 + 0.09 + 0.36 + 0.09) / 5 = 0.188;
    log_score = mean of ln(p) for yes, ln(1 − p) for no; base_rate = 3/5;
    uncertainty = ō (1 − ō) = 0.24; brier_skill_score = 1 − 0.188 / 0.24.
    Two bins: [0, 0.5) holds 0.3 (no), 0.4 (yes); [0.5, 1] holds 0.6 (no), 0.7, 0.8 (yes).
    reliability = Σ n_k (f̄_k − ō_k)² / N = (2 (0.35 − 0.5)² + 3 (0.7 − 2/3)²) / 5;
    resolution = Σ n_k (ō_k − ō)² / N = (2 (0.5 − 0.6)² + 3 (2/3 − 0.6)²) / 5.
    """
    body = scores(scored, bins=2)
    assert set(body) == {
        "n",
        "brier",
        "log_score",
        "base_rate",
        "brier_skill_score",
        "decomposition",
        "calibration",
        "by_forecaster",
        "by_estimate",
        "discrimination",
    }
    assert body["n"] == 5
    # Yes pairs 0.8, 0.4, 0.7 against no pairs 0.3, 0.6: 5 of the 6 orderings are right.
    assert body["discrimination"]["auc"] == pytest.approx(5 / 6)
    # Right side of 50 %: 0.8 and 0.7 (yes), 0.3 (no); 0.4 (yes) and 0.6 (no) are not.
    assert body["discrimination"]["right_side"] == pytest.approx(3 / 5)
    assert body["by_estimate"] == [], "every forecast here was a number"
    assert body["brier"] == pytest.approx(0.188)
    logs = [math.log(0.8), math.log(0.4), math.log(0.7), math.log(0.4), math.log(0.7)]
    assert body["log_score"] == pytest.approx(sum(logs) / 5)
    assert body["base_rate"] == pytest.approx(0.6)
    assert body["brier_skill_score"] == pytest.approx(1 - 0.188 / 0.24)
    decomposition = body["decomposition"]
    assert decomposition["reliability"] == pytest.approx(
        (2 * (0.35 - 0.5) ** 2 + 3 * (0.7 - 2 / 3) ** 2) / 5
    )
    assert decomposition["resolution"] == pytest.approx(
        (2 * (0.5 - 0.6) ** 2 + 3 * (2 / 3 - 0.6) ** 2) / 5
    )
    assert decomposition["uncertainty"] == pytest.approx(0.24)

    low, high = body["calibration"]
    assert (low["bin_low"], low["bin_high"], low["n"]) == (0.0, 0.5, 2)
    assert (high["bin_low"], high["bin_high"], high["n"]) == (0.5, 1.0, 3)
    assert low["mean_probability"] == pytest.approx(0.35)
    assert low["observed_rate"] == pytest.approx(0.5)
    assert high["mean_probability"] == pytest.approx(0.7)
    assert high["observed_rate"] == pytest.approx(2 / 3)
    assert (low["ci_low"], low["ci_high"]) == pytest.approx(wilson(1, 2))
    assert (high["ci_low"], high["ci_high"]) == pytest.approx(wilson(2, 3))


def test_by_forecaster_sorted_with_relative_brier(scored: TestClient) -> None:
    """alice: Briers 0.04, 0.09, 0.09; bob: 0.36, 0.36. Relative Brier on shared questions:
    alice (0.04 − 0.36 + 0.09 − 0.36) / 2 = −0.295, bob +0.295; Q3 (alice alone) is out of it.
    One forecast per pair, so the time-averaged Brier equals the Brier."""
    rows = scores(scored)["by_forecaster"]
    assert [r["forecaster"] for r in rows] == ["alice", "bob"]
    alice, bob = rows
    assert alice["n"] == 3 and bob["n"] == 2
    assert alice["brier"] == pytest.approx(0.22 / 3)
    assert bob["brier"] == pytest.approx(0.36)
    assert alice["log_score"] == pytest.approx((math.log(0.8) + math.log(0.7) * 2) / 3)
    assert alice["time_averaged_brier"] == pytest.approx(alice["brier"])
    assert alice["relative_brier"] == pytest.approx(-0.295)
    assert bob["relative_brier"] == pytest.approx(0.295)


def test_forecaster_filter_keeps_the_others_as_yardstick(scored: TestClient) -> None:
    body = scores(scored, forecaster="alice")
    assert body["n"] == 3
    assert body["brier"] == pytest.approx(0.22 / 3)
    assert body["base_rate"] == pytest.approx(2 / 3)
    assert [r["forecaster"] for r in body["by_forecaster"]] == ["alice"]
    assert body["by_forecaster"][0]["relative_brier"] == pytest.approx(-0.295)


def test_a_forecaster_alone_on_one_question(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-07-15T12:00:00Z")
    question_id = create(client, "Will the lonely event happen?", opened_on="2026-07-01")
    forecast(client, question_id, "solo", 0.25, made_on="2026-07-01")
    resolve(client, question_id, "no", "2026-07-10")
    body = scores(client, forecaster="solo")
    assert body["n"] == 1
    assert body["brier"] == pytest.approx(0.0625)
    (row,) = body["by_forecaster"]
    assert row["relative_brier"] is None
    # Days 07-01 … 07-09 all stood at 0.25.
    assert row["time_averaged_brier"] == pytest.approx(0.0625)


def test_every_outcome_the_same_gives_a_null_skill_score(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-07-15T12:00:00Z")
    for i, p in enumerate((0.9, 0.6)):
        question_id = create(client, f"Will sure event {i} happen?", opened_on="2026-07-01")
        forecast(client, question_id, "ann", p, made_on="2026-07-01")
        resolve(client, question_id, "yes", "2026-07-05")
    body = scores(client)
    assert body["n"] == 2
    assert body["base_rate"] == 1.0
    assert body["decomposition"]["uncertainty"] == 0.0
    assert body["brier_skill_score"] is None
    assert body["brier"] == pytest.approx((0.01 + 0.16) / 2)


def test_no_resolved_question_answers_n_zero_and_nulls(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-07-15T12:00:00Z")
    question_id = create(client, "Will the pending event happen?", opened_on="2026-07-01")
    forecast(client, question_id, "ann", 0.4, made_on="2026-07-01")
    body = scores(client)
    assert body == {
        "n": 0,
        "brier": None,
        "log_score": None,
        "base_rate": None,
        "brier_skill_score": None,
        "decomposition": {"reliability": None, "resolution": None, "uncertainty": None},
        "calibration": [],
        "by_forecaster": [],
        "by_estimate": [],
        "discrimination": {"auc": None, "right_side": None},
    }
    # A known forecaster with nothing scored yet is not an error either.
    assert scores(client, forecaster="ann")["n"] == 0
    assert client.get("/api/scores/questions").json() == {"items": [], "total": 0}


def test_unknown_forecaster_is_404_naming_them(scored: TestClient) -> None:
    for path in ("/api/scores", "/api/scores/questions", "/api/scores/forecasters.csv"):
        response = scored.get(path, params={"forecaster": "zed"})
        assert response.status_code == 404, path
        assert "zed" in response.json()["detail"]
    # carol has a forecast (on an open question): known, just not scored.
    assert scores(scored, forecaster="carol")["n"] == 0


@pytest.mark.parametrize("bins", ["0", "101", "-1", "ten", "2.5"])
def test_bins_out_of_range_is_422(scored: TestClient, bins: str) -> None:
    response = scored.get("/api/scores", params={"bins": bins})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_bins_at_the_limits(scored: TestClient) -> None:
    assert len(scores(scored, bins=1)["calibration"]) == 1
    # 0.3, 0.4, 0.6, 0.7, 0.8 fall in five different bins of a hundred (30, 40, 60, 70, 80).
    table = scores(scored, bins=100)["calibration"]
    assert [round(b["bin_low"] * 100) for b in table] == [30, 40, 60, 70, 80]


def test_tag_filter_is_exact_and_escapes_wildcards(scored: TestClient) -> None:
    assert scores(scored, tag="econ")["n"] == 4
    assert scores(scored, tag="a_b")["n"] == 2
    # LIKE wildcards are literal: "a%" and "a_" are not prefixes of "a_b", "eco" is no tag.
    for tag in ("a%", "a_", "eco", "%"):
        assert scores(scored, tag=tag)["n"] == 0, tag
    # An empty value (a form left blank) means no filter.
    assert scores(scored, tag="", forecaster="")["n"] == 5


def test_resolved_on_range(scored: TestClient) -> None:
    assert scores(scored, resolved_from="2026-07-02")["n"] == 3
    assert scores(scored, resolved_to="2026-07-01")["n"] == 2
    assert scores(scored, resolved_from="2026-07-02", resolved_to="2026-07-02")["n"] == 2
    response = scored.get(
        "/api/scores", params={"resolved_from": "2026-07-03", "resolved_to": "2026-07-01"}
    )
    assert response.status_code == 422
    assert "resolved_from" in response.json()["detail"]
    assert scored.get("/api/scores", params={"resolved_from": "July"}).status_code == 422


def test_time_averaged_brier_follows_forecasts_over_days(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    """time_averaged_brier: mean over the days from the first forecast up to (not including)
    resolved_on of (p_d − o)², p_d the latest forecast made on or before day d.

    alice says 0.2 on 03-01, then 0.6 and 0.9 on 03-11 (0.9 last, so it stands); it resolves
    yes on 03-21: 10 days at 0.8² and 10 at 0.1², (6.4 + 0.1) / 20 = 0.325; her p is 0.9.
    bob forecasts only on 03-21 itself: that day alone, (0.5 − 1)² = 0.25.
    """
    freezer.move_to("2026-03-01T08:00:00Z")
    question_id = create(client, "Will the drifting event happen?")
    forecast(client, question_id, "alice", 0.2)
    freezer.move_to("2026-03-11T08:00:00Z")
    forecast(client, question_id, "alice", 0.6)
    freezer.move_to("2026-03-11T17:00:00Z")
    forecast(client, question_id, "alice", 0.9)
    freezer.move_to("2026-03-21T08:00:00Z")
    forecast(client, question_id, "bob", 0.5)
    resolve(client, question_id, "yes")
    alice, bob = scores(client)["by_forecaster"]
    assert alice["time_averaged_brier"] == pytest.approx(0.325)
    assert alice["brier"] == pytest.approx(0.01)
    assert bob["time_averaged_brier"] == pytest.approx(0.25)
    assert bob["brier"] == pytest.approx(0.25)


def test_forecasts_after_resolved_on_do_not_count(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    """p is the latest forecast made on or before resolved_on, even when the resolution is
    backdated below a later forecast; of two made the same day, the one created last."""
    freezer.move_to("2026-03-01T08:00:00Z")
    question_id = create(client, "Will the backdated event happen?")
    forecast(client, question_id, "alice", 0.1)
    freezer.move_to("2026-03-01T09:00:00Z")
    forecast(client, question_id, "alice", 0.3)
    freezer.move_to("2026-03-20T08:00:00Z")
    forecast(client, question_id, "alice", 0.99)
    forecast(client, question_id, "late", 0.5)
    resolve(client, question_id, "yes", "2026-03-10")
    body = scores(client)
    assert body["n"] == 1
    (alice,) = body["by_forecaster"]
    assert alice["brier"] == pytest.approx(0.49)
    assert alice["time_averaged_brier"] == pytest.approx(0.49)


def test_question_scores_newest_first_with_paging(scored: TestClient) -> None:
    body = scored.get("/api/scores/questions").json()
    assert body["total"] == 5
    items = body["items"]
    assert [(i["resolved_on"], i["forecaster"]) for i in items] == [
        ("2026-07-03", "alice"),
        ("2026-07-02", "alice"),
        ("2026-07-02", "bob"),
        ("2026-07-01", "alice"),
        ("2026-07-01", "bob"),
    ]
    first = items[0]
    assert first["title"] == "Will the third event happen?"
    assert first["outcome"] == "yes" and first["probability"] == 0.7
    assert first["brier"] == pytest.approx(0.09)
    assert first["log_score"] == pytest.approx(math.log(0.7))
    assert set(first) == {
        "question_id",
        "title",
        "resolved_on",
        "outcome",
        "forecaster",
        "probability",
        "brier",
        "log_score",
    }
    page = scored.get("/api/scores/questions", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5 and page["items"] == items[1:3]
    only_bob = scored.get("/api/scores/questions", params={"forecaster": "bob"}).json()
    assert [i["probability"] for i in only_bob["items"]] == [0.6, 0.4]
    assert scored.get("/api/scores/questions", params={"limit": 0}).status_code == 422


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_downloads_match_the_json(scored: TestClient) -> None:
    rows = _csv_rows(scored.get("/api/scores/forecasters.csv"))
    assert [r["forecaster"] for r in rows] == ["alice", "bob"]
    assert list(rows[0]) == [
        "forecaster",
        "n",
        "brier",
        "log_score",
        "time_averaged_brier",
        "relative_brier",
    ]
    assert float(rows[1]["brier"]) == pytest.approx(0.36)
    assert float(rows[0]["relative_brier"]) == pytest.approx(-0.295)

    rows = _csv_rows(scored.get("/api/scores/questions.csv", params={"tag": "econ"}))
    assert len(rows) == 4
    assert {r["title"] for r in rows} == {
        "Will the first event happen?",
        "Will the second event happen?",
    }
    by_json = scored.get("/api/scores/questions", params={"tag": "econ"}).json()["items"]
    # The CSV rounds to 4 places (csv_cells.FLOAT_PLACES); the JSON is exact.
    briers = [i["brier"] for i in by_json]
    assert [float(r["brier"]) for r in rows] == pytest.approx(briers, abs=5e-5)
    assert all(len(r["probability"].partition(".")[2]) <= 4 for r in rows)
    assert [r["resolved_on"] for r in rows] == [i["resolved_on"] for i in by_json]


def test_csv_neutralises_spreadsheet_formulas(
    client: TestClient, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-07-15T12:00:00Z")
    question_id = create(client, '=HYPERLINK("http://x","click me")', opened_on="2026-07-01")
    forecast(client, question_id, "@mallory", 0.5, made_on="2026-07-01")
    resolve(client, question_id, "no", "2026-07-02")
    (row,) = _csv_rows(client.get("/api/scores/questions.csv"))
    assert row["title"] == "'" + '=HYPERLINK("http://x","click me")'
    assert row["forecaster"] == "'@mallory"
    assert row["probability"] == "0.5"
    # The JSON keeps the text exactly as stored.
    item = client.get("/api/scores/questions").json()["items"][0]
    assert item["title"].startswith("=HYPERLINK")


def test_scores_follow_writes_from_another_process(scored: TestClient, db: Database) -> None:
    """The figures are never stale: writes through another engine (another process or
    replica) show up on the next request, as do the app's own."""
    assert scores(scored)["n"] == 5
    url = db.url.render_as_string(hide_password=False)
    other = Database(url, make_settings(url))
    try:
        question_id = create(scored, "Will the late event happen?", opened_on="2026-07-01")
        assert scores(scored)["n"] == 5
        with other.write() as conn:
            add_forecast(
                conn,
                question_id,
                ForecastIn(forecaster="bob", probability=0.05, made_on=date(2026, 7, 1)),
                today=date(2026, 7, 15),
                actor="test",
            )
        assert scores(scored)["n"] == 5  # not resolved yet
        with other.write() as conn:
            resolve_question(
                conn,
                question_id,
                ResolveIn(outcome="no", resolved_on=date(2026, 7, 5)),
                today=date(2026, 7, 15),
                actor="test",
            )
        after = scores(scored)
        assert after["n"] == 6
        assert after["by_forecaster"][1]["n"] == 3
        assert after["brier"] == pytest.approx((0.94 + 0.0025) / 6)
    finally:
        other.dispose()


def test_scores_by_estimate_phrase(client: TestClient, freezer: FrozenDateTimeFactory) -> None:
    """Three pairs given as phrases: "bound to" (0.95 by the table) twice, yes and no, and
    "may very well" once, yes; a fourth given as a number is not in by_estimate."""
    from forecasts.estimates import probability_of

    freezer.move_to("2026-07-15T12:00:00Z")
    bound, may = probability_of("bound to"), probability_of("may very well")
    plan = [("bound to", "yes"), ("bound to", "no"), ("may very well", "yes"), (None, "no")]
    for n, (phrase, outcome) in enumerate(plan):
        question_id = create(client, f"Will event number {n} happen?", opened_on="2026-06-01")
        body: dict[str, object] = {"forecaster": "pundit", "made_on": "2026-06-01"}
        body.update({"estimate": phrase} if phrase else {"probability": 0.2})
        response = client.post(f"/api/questions/{question_id}/forecasts", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        resolve(client, question_id, outcome, "2026-07-01")
    groups = scores(client)["by_estimate"]
    expected = sorted(
        [
            ("bound to", 2, bound, 0.5, ((bound - 1) ** 2 + bound**2) / 2),
            ("may very well", 1, may, 1.0, (may - 1) ** 2),
        ],
        key=lambda g: -g[2],
    )
    assert [g["estimate"] for g in groups] == [e[0] for e in expected]
    for group, (_phrase, n, mean, rate, brier) in zip(groups, expected, strict=True):
        assert group["n"] == n
        assert group["mean_probability"] == pytest.approx(mean)
        assert group["observed_rate"] == pytest.approx(rate)
        assert group["brier"] == pytest.approx(brier)


def test_the_overview_page_shows_hedges_and_discrimination(scored: TestClient) -> None:
    page = scored.get("/")
    assert page.status_code == 200
    assert 'id="by-estimate"' in page.text and 'id="discrimination"' in page.text
    assert '<dd id="stat-auc">0.833</dd>' in page.text  # 5/6, as worked out above
    assert '<dd id="stat-right-side">60' in page.text  # 3 of 5 pairs
