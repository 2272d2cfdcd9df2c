"""Every simulated endpoint's answers, validated against Mattermost's own OpenAPI spec (v11.6 fragments).

Where the spec disagrees with what a real server sends, the simulator follows the server and the schema is
corrected here, each time with the reason (see SPEC_CORRECTIONS and the per-endpoint comments).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from simulator import SCENARIOS, RunningSimulator, start_simulator
from tests.simulator.conftest import client_for

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference" / "mattermost" / "openapi"
SPEC_URI = "urn:mattermost:openapi:v4"

# Endpoints the spec leaves without a response schema; these describe what the real server sends.
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
ANALYTICS_ROWS = {
    "type": "array",
    "items": {"type": "object", "required": ["name", "value"],
              "properties": {"name": {"type": "string"}, "value": {"type": "number"}}},
}


def _correct(components: dict[str, Any]) -> None:
    """Known disagreements between the v11.6 spec and the v11.6 server."""
    schemas = components["schemas"]
    # PluginStatus.state: the spec says `type: number` with an enum of *names*, which nothing satisfies;
    # the server sends the numeric model.PluginState (0 NotRunning .. 5 Stopping).
    schemas["PluginStatus"]["properties"]["state"] = {"type": "integer", "minimum": 0, "maximum": 5}
    # ClusterInfo is declared as `type: array` with the object under `properties.items`, and the endpoint then
    # wraps it in another array; the server sends an array of ClusterInfo objects.
    schemas["ClusterInfo"] = schemas["ClusterInfo"]["properties"]["items"]
    # Team.policy_id: the description itself says it is null when the team has no retention policy.
    schemas["Team"]["properties"]["policy_id"]["nullable"] = True


def _load_yaml(path: Path) -> Any:
    # The C loader, when PyYAML has it, reads the 17,000 lines of fragments ten times faster.
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for fragment in sorted(SPEC_DIR.glob("*.yaml")):
        if fragment.name in ("definitions.yaml", "introduction.yaml"):
            continue
        paths.update(_load_yaml(fragment) or {})
    components = copy.deepcopy(_load_yaml(SPEC_DIR / "definitions.yaml")["components"])
    _correct(components)
    return {"paths": paths, "components": components}


@cache
def _registry() -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(_spec(), default_specification=DRAFT4))


def _ref(*parts: str) -> dict[str, str]:
    """A $ref into the merged spec, by JSON pointer (RFC 6901 escaping)."""
    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
    return {"$ref": f"{SPEC_URI}#{pointer}"}


def response_schema_ref(path: str, method: str, status: int) -> dict[str, Any]:
    """A $ref to the JSON schema the spec gives for one response, following components/responses."""
    response = _spec()["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        ref = response["$ref"]
        name = ref.rsplit("/", 1)[-1]
        assert "schema" in _spec()["components"]["responses"][name]["content"]["application/json"], ref
        return _ref("components", "responses", name, "content", "application/json", "schema")
    assert "schema" in response["content"]["application/json"], f"{method} {path} {status} has no schema"
    return _ref("paths", path, method, "responses", str(status), "content", "application/json", "schema")


def component_ref(name: str) -> dict[str, Any]:
    return _ref("components", "schemas", name)


def validate(body: Any, schema: dict[str, Any]) -> None:
    OAS30Validator(schema, registry=_registry()).validate(body)


def check(response: httpx.Response, status: int, schema: dict[str, Any]) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    validate(body, schema)
    return body


@pytest.fixture(scope="module", params=SCENARIOS)
def sim(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    with start_simulator(request.param) as running:
        yield running


@pytest.fixture
def admin_api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(sim, sim.admin_token) as client:
        yield client


@pytest.fixture
def user_api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(sim, sim.user_token) as client:
        yield client


@pytest.fixture
def anon_api(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with client_for(sim) as client:
        yield client


def test_the_spec_fragments_are_there() -> None:
    assert "/api/v4/system/ping" in _spec()["paths"], f"OpenAPI fragments missing under {SPEC_DIR}"


def test_ping(admin_api: httpx.Client, anon_api: httpx.Client) -> None:
    schema = response_schema_ref("/api/v4/system/ping", "get", 200)
    check(anon_api.get("/system/ping"), 200, schema)
    # use_rest_semantics keeps the degraded scenario's UNHEALTHY answer at 200, so it validates too.
    params = {"get_server_status": "true", "use_rest_semantics": "true"}
    check(anon_api.get("/system/ping", params=params), 200, schema)
    body = check(admin_api.get("/system/ping", params=params), 200, schema)
    assert isinstance(body["root_status"], bool)  # not in the spec's schema; the server adds it for admins


def test_config(admin_api: httpx.Client) -> None:
    check(admin_api.get("/config"), 200, response_schema_ref("/api/v4/config", "get", 200))


def test_client_config(admin_api: httpx.Client, anon_api: httpx.Client) -> None:
    # The spec documents no body for /config/client; the server sends map[string]string.
    check(anon_api.get("/config/client", params={"format": "old"}), 200, STRING_MAP)
    check(admin_api.get("/config/client", params={"format": "old"}), 200, STRING_MAP)


def test_client_license(admin_api: httpx.Client, user_api: httpx.Client) -> None:
    # No body schema in the spec either; the server sends map[string]string.
    check(admin_api.get("/license/client", params={"format": "old"}), 200, STRING_MAP)
    check(user_api.get("/license/client", params={"format": "old"}), 200, STRING_MAP)


@pytest.mark.parametrize("name", ["standard", "post_counts_day", "bot_post_counts_day",
                                  "user_counts_with_posts_day", "extra_counts"])
def test_analytics(admin_api: httpx.Client, name: str) -> None:
    # The spec gives no body schema; rows are model.AnalyticsRow {name, value}.
    check(admin_api.get("/analytics/old", params={"name": name}), 200, ANALYTICS_ROWS)


def test_user_stats(user_api: httpx.Client) -> None:
    check(user_api.get("/users/stats"), 200, response_schema_ref("/api/v4/users/stats", "get", 200))


def test_users_me(admin_api: httpx.Client, user_api: httpx.Client) -> None:
    schema = response_schema_ref("/api/v4/users/{user_id}", "get", 200)
    check(admin_api.get("/users/me"), 200, schema)
    check(user_api.get("/users/me"), 200, schema)


def test_login(sim: RunningSimulator, anon_api: httpx.Client) -> None:
    # The spec says 201; the server answers a login with 200 (it never calls WriteHeader).
    schema = response_schema_ref("/api/v4/users/login", "post", 201)
    response = anon_api.post("/users/login", json={"login_id": sim.admin_username, "password": sim.admin_password})
    check(response, 200, schema)


def test_user_by_email(sim: RunningSimulator, admin_api: httpx.Client) -> None:
    check(admin_api.get(f"/users/email/{sim.user_email}"), 200,
          response_schema_ref("/api/v4/users/email/{email}", "get", 200))


def test_plugins(admin_api: httpx.Client) -> None:
    body = check(admin_api.get("/plugins"), 200, response_schema_ref("/api/v4/plugins", "get", 200))
    assert body["active"]


def test_plugin_statuses(admin_api: httpx.Client) -> None:
    check(admin_api.get("/plugins/statuses"), 200, response_schema_ref("/api/v4/plugins/statuses", "get", 200))


def test_cluster_status(admin_api: httpx.Client) -> None:
    check(admin_api.get("/cluster/status"), 200, response_schema_ref("/api/v4/cluster/status", "get", 200))


def test_jobs(admin_api: httpx.Client) -> None:
    schema = response_schema_ref("/api/v4/jobs", "get", 200)
    check(admin_api.get("/jobs"), 200, schema)
    check(admin_api.get("/jobs", params={"status": "error", "per_page": 5}), 200, schema)


def test_teams(admin_api: httpx.Client, user_api: httpx.Client) -> None:
    schema = response_schema_ref("/api/v4/teams", "get", 200)
    check(admin_api.get("/teams"), 200, schema)
    check(user_api.get("/teams"), 200, schema)
    # include_total_count changes the shape (described only in the parameter's text in the spec).
    with_total = {"type": "object", "required": ["teams", "total_count"],
                  "properties": {"teams": {"type": "array", "items": component_ref("Team")},
                                 "total_count": {"type": "integer"}}}
    check(admin_api.get("/teams", params={"include_total_count": "true"}), 200, with_total)


def test_unauthorized_body(anon_api: httpx.Client) -> None:
    check(anon_api.get("/users/stats"), 401, response_schema_ref("/api/v4/users/stats", "get", 401))
    check(anon_api.get("/jobs"), 401, response_schema_ref("/api/v4/jobs", "get", 401))


def test_forbidden_body(user_api: httpx.Client) -> None:
    check(user_api.get("/config"), 403, response_schema_ref("/api/v4/config", "get", 403))
    check(user_api.get("/cluster/status"), 403, response_schema_ref("/api/v4/cluster/status", "get", 403))
    check(user_api.get("/plugins"), 403, response_schema_ref("/api/v4/plugins", "get", 403))


def test_not_found_body(admin_api: httpx.Client) -> None:
    check(admin_api.get("/users/email/nobody@nowhere.example"), 404,
          response_schema_ref("/api/v4/users/email/{email}", "get", 404))
    check(admin_api.get("/no/such/endpoint"), 404, component_ref("AppError"))


def test_bad_request_body(admin_api: httpx.Client, anon_api: httpx.Client) -> None:
    check(admin_api.get("/analytics/old", params={"name": "nope"}), 400,
          response_schema_ref("/api/v4/analytics/old", "get", 400))
    # The spec allows 400 or 501 for a missing format; v11 answers 400 (older servers said 501).
    check(anon_api.get("/license/client"), 400, response_schema_ref("/api/v4/license/client", "get", 400))
