"""The OpenAPI document is complete: bearer auth declared (the Authorize button in /docs),
every operation summarised, described and listing the errors it can answer with ErrorOut,
every schema field described."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ADMIN

METHODS = {"get", "post", "patch", "put", "delete"}


def test_every_operation_is_documented(sqlite_client: TestClient) -> None:
    document = sqlite_client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    assert set(document["components"]["schemas"]["ErrorOut"]["properties"]) >= {"detail"}
    problems: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            name = f"{method.upper()} {path}"
            if not operation.get("summary"):
                problems.append(f"{name}: no summary")
            if not operation.get("description"):
                problems.append(f"{name}: no description")
            codes = set(operation["responses"])
            if path != "/healthz" and "401" not in codes:
                problems.append(f"{name}: no 401")
            writes = method != "get"
            if writes and not {"401", "403", "409"} <= codes:
                problems.append(f"{name}: a write without 401/403/409")
            if "{" in path and "404" not in codes:
                problems.append(f"{name}: no 404")
            if "requestBody" in operation and not {"413", "422"} <= codes:
                problems.append(f"{name}: a body without 413/422")
            for code in codes & {"401", "403", "404", "409", "413", "422"}:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                if schema != {"$ref": "#/components/schemas/ErrorOut"}:
                    problems.append(f"{name}: {code} is not ErrorOut")
            if writes and operation.get("security") != [{next(iter(schemes)): []}]:
                problems.append(f"{name}: a write without the bearer requirement")
    for model, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                problems.append(f"{model}.{field}: no description")
    assert not problems, "\n".join(problems)


def test_the_documented_errors_happen(sqlite_client: TestClient) -> None:
    body = {
        "title": "Will the documented errors happen?",
        "resolution_criteria": "YES.",
        "resolve_by": "2030-01-01",
    }
    assert sqlite_client.post("/api/questions", json=body).status_code == 401
    created = sqlite_client.post("/api/questions", json=body, headers=ADMIN)
    assert created.status_code == 201
    assert sqlite_client.get("/api/questions/999999").status_code == 404
    question = created.json()["id"]
    resolve = {"outcome": "yes", "resolved_on": created.json()["opened_on"]}
    path = f"/api/questions/{question}/resolve"
    assert sqlite_client.post(path, json=resolve, headers=ADMIN).status_code == 200
    assert sqlite_client.post(path, json=resolve, headers=ADMIN).status_code == 409


def test_docs_page_has_the_authorize_scheme(sqlite_client: TestClient) -> None:
    page = sqlite_client.get("/docs")
    assert page.status_code == 200 and "/static/vendor/swagger-ui/" in page.text
