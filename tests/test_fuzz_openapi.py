"""A property-based client (schemathesis) drives every operation in /openapi.json with
generated, mostly invalid input: whatever it sends, the service never answers 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from service.db import Database
from service.seeding import load_seeds
from tests.conftest import ADMIN, make_settings


def test_no_operation_answers_a_server_error(sqlite_db: Database) -> None:
    # Seeded, so that ids 1..8 exist and operations on them reach the domain rules.
    load_seeds(sqlite_db)
    app = create_app(make_settings(sqlite_db.url.render_as_string(hide_password=False)), sqlite_db)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "the spec lists the API's operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def exercise(case) -> None:  # noqa: ANN001
            response = case.call(headers=ADMIN)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} "
                    f"-> {response.status_code}: {response.text[:200]}"
                )
            elif response.status_code >= 400 and "detail" not in response.json():
                failures.append(f"{case.method} {case.formatted_path}: error without detail")

        exercise()
    assert not failures, "\n".join(failures[:20])
