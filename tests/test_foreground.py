"""A poll cycle in the serving process gives way to the requests in flight (service.foreground):
it pauses after its steps while a request is being answered, never for the poll request that
runs it, and never when nothing is being served."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service import foreground
from service.limits import RequestGuard


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(foreground.time, "sleep", slept.append)
    return slept


def test_the_pace_pauses_only_while_a_request_is_in_flight(pauses: list[float]):
    pace = foreground.pacer(1.5)
    pace(0.01)
    assert pauses == []  # nothing served: full speed
    with foreground.serving_request():
        pace(0.01)
        with foreground.background_request():  # POST /api/poll itself
            pace(0.01)
    assert pauses == [pytest.approx(0.015)]
    pace(0.01)
    assert len(pauses) == 1 and foreground.requests_in_flight() == 0


def test_a_factor_of_zero_never_pauses_and_a_long_step_pauses_a_bounded_time(
    pauses: list[float],
):
    with foreground.serving_request():
        foreground.pacer(0)(1.0)
        foreground.pacer(3)(10.0)
    assert pauses == [foreground.MAX_PAUSE_SECONDS]


def test_requests_are_counted_while_they_run_and_not_after():
    seen: list[int] = []
    api = FastAPI()

    @api.get("/slow")
    def slow() -> dict[str, int]:
        seen.append(foreground.requests_in_flight())
        return {}

    with TestClient(RequestGuard(api, max_body_bytes=1024)) as client:
        assert client.get("/slow").status_code == 200
    assert seen == [1] and foreground.requests_in_flight() == 0
