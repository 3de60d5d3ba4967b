"""The HTTP side of /graphql: media types, body shape and size, GET, persisted queries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.config import Settings
from app.graphql.http import PersistedQueries

QUERY = "{ apiInfo { version } }"


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (QUERY, {"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (json.dumps({"query": QUERY}), {"content-type": ""}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("{not json", {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (
            json.dumps([{"query": QUERY}] * 2),
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (json.dumps("just a string"), {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (json.dumps({"query": 42}), {"content-type": "application/json"}, 400, "BAD_REQUEST"),
        (
            json.dumps({"query": QUERY, "variables": [1]}),
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (
            json.dumps({"query": QUERY, "operationName": 3}),
            {"content-type": "application/json"},
            400,
            "BAD_REQUEST",
        ),
        (
            json.dumps({"query": QUERY}),
            {"content-type": "application/json; charset=latin-1"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ],
)
async def test_malformed_requests(
    http: httpx.AsyncClient, content: str, headers: dict[str, str], status: int, code: str
) -> None:
    response = await http.post("/graphql", content=content, headers=headers)
    assert response.status_code == status
    assert codes(response) == [code]
    assert response.headers["content-type"].startswith("application/json")


async def test_refusals_answer_in_the_accepted_media_type(http: httpx.AsyncClient) -> None:
    refused = await http.post(
        "/graphql",
        content="{not json",
        headers={
            "content-type": "application/json",
            "accept": "application/graphql-response+json",
        },
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/graphql-response+json")
    assert codes(refused) == ["BAD_REQUEST"]


async def test_get_with_invalid_utf8_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql?query=%7B%20apiInfo%20%7B%20version%20%7D%20%7D%ff")
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    fine = await http.get("/graphql?query=%7B%20apiInfo%20%7B%20version%20%7D%20%7D%23%C3%BC")
    assert fine.json()["data"]["apiInfo"]["version"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", 'application/json; Charset="UTF8"; profile=x'],
)
async def test_json_with_charset_is_accepted(http: httpx.AsyncClient, content_type: str) -> None:
    response = await http.post(
        "/graphql", content=json.dumps({"query": QUERY}), headers={"content-type": content_type}
    )
    assert response.status_code == 200
    assert response.json()["data"]["apiInfo"]["version"]


async def test_oversized_body_is_refused_unread(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    padding = "x" * settings.max_request_body_bytes
    response = await http.post("/graphql", json={"query": QUERY, "variables": {"pad": padding}})
    assert response.status_code == 413
    assert codes(response) == ["REQUEST_TOO_LARGE"]

    sent = 0
    chunks = 3 * settings.max_request_body_bytes // 1000

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        nonlocal sent
        yield b'{"query": "{ apiInfo { version } }", "variables": {"pad": "'
        for _ in range(chunks):
            sent += 1
            yield b"y" * 1000
        yield b'"}}'

    chunked = await http.post(
        "/graphql", content=stream(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    # Reading stopped at the limit: the rest of the body was never pulled from the client.
    assert sent <= settings.max_request_body_bytes // 1000 + 1 < chunks


async def test_queries_over_get_mutations_not(http: httpx.AsyncClient) -> None:
    ok = await http.get("/graphql", params={"query": QUERY})
    assert ok.status_code == 200
    assert ok.json() == {"data": {"apiInfo": {"version": ok.json()["data"]["apiInfo"]["version"]}}}
    with_variables = await http.get(
        "/graphql",
        params={
            "query": "query($id: ID!) { node(id: $id) { id } }",
            "variables": '{"id": "Qm9vazox"}',
        },
    )
    assert with_variables.json() == {"data": {"node": None}}
    mutation = await http.get("/graphql", params={"query": "mutation { logoutAll }"})
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert codes(mutation) == ["METHOD_NOT_ALLOWED"]
    bad_variables = await http.get("/graphql", params={"query": QUERY, "variables": "{oops"})
    assert bad_variables.status_code == 400


async def test_automatic_persisted_queries(http: httpx.AsyncClient) -> None:
    digest = hashlib.sha256(QUERY.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    unknown = await http.post("/graphql", json={"extensions": extensions})
    assert unknown.status_code == 200
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await http.post("/graphql", json={"query": QUERY, "extensions": extensions})
    assert registered.json()["data"]["apiInfo"]["version"]
    by_hash = await http.post("/graphql", json={"extensions": extensions})
    assert by_hash.json() == registered.json()
    over_get = await http.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert over_get.json() == registered.json()
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    mismatch = await http.post("/graphql", json={"query": QUERY, "extensions": wrong})
    assert mismatch.status_code == 400
    assert codes(mismatch) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    "body",
    [
        {"extensions": {"persistedQuery": "x"}},
        {"extensions": {"persistedQuery": [1]}},
        {"extensions": "x"},
        {"extensions": [1], "query": QUERY},
        {"query": 5, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
    ],
)
async def test_malformed_extensions_are_400_with_a_code(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await http.post("/graphql", json=body)
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/graphql-response+json", "application/graphql-response+json"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            "application/graphql-response+json",
        ),
        ("application/json", "application/json"),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
async def test_response_media_type_follows_accept(
    http: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    headers = {"accept": accept} if accept else {}
    response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ apiInfo { version }"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {
                "query": "query($n: Int!) { books(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "VALIDATION_ERROR",  # a variable that doesn't coerce: a request error too
        ),
    ],
)
async def test_request_errors_per_media_type(
    http: httpx.AsyncClient, body: dict[str, object], code: str
) -> None:
    modern = await http.post(
        "/graphql", json=body, headers={"accept": "application/graphql-response+json"}
    )
    assert modern.status_code == 400
    assert "data" not in modern.json()
    assert codes(modern) == [code]
    legacy = await http.post("/graphql", json=body, headers={"accept": "application/json"})
    assert legacy.status_code == 200
    assert legacy.json()["data"] is None
    assert codes(legacy) == [code]


async def test_field_errors_keep_200_and_data_with_graphql_response(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": "{ myOrders { totalCount } }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"myOrders": None}  # execution happened: `data` stays
    assert codes(response) == ["AUTH_REQUIRED"]


@pytest.mark.parametrize(
    "body",
    [{}, {"variables": {}}, {"query": "query A { apiInfo { version } }", "operationName": "B"}],
)
async def test_no_runnable_operation_is_a_json_400(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await http.post("/graphql", json=body)
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


async def test_several_operations_without_operation_name_say_it_is_required(
    http: httpx.AsyncClient,
) -> None:
    document = "query A { apiInfo { version } } query B { apiInfo { environment } }"
    response = await http.post("/graphql", json={"query": document})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "The document holds several operations: `operationName` is required "
            "to say which one to run",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]
    named = await http.post("/graphql", json={"query": document, "operationName": "B"})
    assert named.json() == {"data": {"apiInfo": {"environment": "test"}}}


async def test_get_without_query(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200  # GraphiQL (development and test)
    bare = await http.get("/graphql", headers={"accept": "application/json"})
    assert bare.status_code == 400
    assert codes(bare) == ["BAD_REQUEST"]


async def test_other_methods_are_405_with_allow(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", json={"query": QUERY})
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert codes(response) == ["METHOD_NOT_ALLOWED"]


async def test_a_crash_in_the_http_layer_is_a_graphql_shaped_500(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(PersistedQueries, "resolve", crash)
    response = await http.post("/graphql", json={"query": QUERY})
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
    assert response.headers["x-request-id"]
