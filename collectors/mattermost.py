"""Mattermost REST API v4 collector: version, license, usage, plugins, cluster and jobs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from collectors import mattermost_models as models
from collectors.base import SourceResult, SourceStatus
from collectors.http_errors import describe_transport_error
from settings import MattermostSettings

SERVICE = "Mattermost"
RECENT_JOBS = 50
LATEST_RELEASE = "latest_release"


@dataclass(frozen=True)
class Answer:
    """One endpoint's outcome: a JSON value, or the sentence saying why there is none."""

    value: Any = None
    error: str | None = None
    status_code: int | None = None
    version_header: str | None = None
    transport_failed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _app_error_message(response: httpx.Response) -> str:
    """Mattermost errors are {id, message, detailed_error, request_id, status_code}."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no details"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"]).rstrip(".")
    return response.reason_phrase or "no details"


def _describe_status(response: httpx.Response, what: str, path: str) -> str:
    code = response.status_code
    message = _app_error_message(response)
    if code == 401:
        return (f"Mattermost rejected the token (HTTP 401: {message}): it is wrong, expired or revoked; "
                "create a new personal access token for a system admin and configure it as mattermost.token.")
    if code == 403:
        return (f"{what}: the token's user may not read this (HTTP 403: {message}); "
                "use a system admin's personal access token.")
    if code == 404:
        return f"{what}: this server has no {path} endpoint (HTTP 404); it may be an older Mattermost version."
    if code == 501:
        return f"{what}: not available on this server (HTTP 501: {message})."
    if code >= 500:
        return (f"{what}: Mattermost answered HTTP {code} on {path} ({message}); "
                "check the Mattermost server log around this time.")
    return f"{what}: unexpected HTTP {code} on {path} ({message})."


class MattermostApi:
    """A thin client for /api/v4 that never raises: every call returns an Answer."""

    def __init__(self, settings: MattermostSettings, client: httpx.AsyncClient, token: str | None):
        self.base_url = settings.url
        self.timeout_s = settings.timeout_seconds
        self.client = client
        self.token = token

    async def get(self, path: str, what: str, params: dict[str, Any] | None = None,
                  *, anonymous: bool = False) -> Answer:
        headers = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
        if self.token and not anonymous:
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.base_url}/api/v4{path}"
        try:
            response = await self.client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            return Answer(error=describe_transport_error(exc, SERVICE, self.base_url, self.timeout_s),
                          transport_failed=True)
        return self._interpret(response, what, path)

    def _interpret(self, response: httpx.Response, what: str, path: str) -> Answer:
        version_header = response.headers.get("X-Version-ID")
        if response.status_code >= 400:
            return Answer(error=_describe_status(response, what, path), status_code=response.status_code,
                          version_header=version_header)
        try:
            value = json.loads(response.content)
        except ValueError as exc:
            return Answer(
                error=f"{what}: Mattermost answered {path} with malformed JSON ({exc.msg} at byte {exc.pos}); "
                "a proxy in front of Mattermost may be cutting or rewriting responses.",
                status_code=response.status_code, version_header=version_header)
        return Answer(value=value, status_code=response.status_code, version_header=version_header)


def _not_mattermost(ping: Answer, url: str) -> str | None:
    """A site that answers without Mattermost's header and ping shape is some other service."""
    if ping.transport_failed:
        return None
    if ping.version_header:
        return None
    if ping.ok and isinstance(ping.value, dict) and "status" in ping.value:
        return None
    return (f"{url} answered, but it is not a Mattermost server (no X-Version-ID header and no ping answer "
            "at /api/v4/system/ping): point the URL at the Mattermost site root, e.g. https://chat.example.com.")


async def _gather(api: MattermostApi) -> dict[str, Answer]:
    requests = {
        "ping": api.get("/system/ping", "Server status",
                        {"get_server_status": "true", "use_rest_semantics": "true"}),
        "me": api.get("/users/me", "Signed-in user"),
        "client_config": api.get("/config/client", "Version and site", {"format": "old"}),
        "license": api.get("/license/client", "License", {"format": "old"}),
        "standard": api.get("/analytics/old", "Usage counts", {"name": "standard"}),
        "extra": api.get("/analytics/old", "Sessions, webhooks and files", {"name": "extra_counts"}),
        "posts_per_day": api.get("/analytics/old", "Posts per day", {"name": "post_counts_day"}),
        "active_per_day": api.get("/analytics/old", "Active users per day",
                                  {"name": "user_counts_with_posts_day"}),
        "plugins": api.get("/plugins", "Plugins"),
        "plugin_statuses": api.get("/plugins/statuses", "Plugin status per node"),
        "cluster": api.get("/cluster/status", "Cluster nodes"),
        "jobs": api.get("/jobs", "Recent jobs", {"per_page": str(RECENT_JOBS), "page": "0"}),
        "config": api.get("/config", "Configuration"),
    }
    answers = dict(zip(requests, await asyncio.gather(*requests.values()), strict=True))
    if not answers["standard"].ok and answers["me"].ok:
        # User and team counts normally come with the usage counts (admins only); without them, ask the
        # endpoints any signed-in user may read.
        answers["user_stats"], answers["teams"] = await asyncio.gather(
            api.get("/users/stats", "User count"),
            api.get("/teams", "Teams", {"include_total_count": "true", "per_page": "1"}))
    return answers


def _value(answers: dict[str, Answer], key: str, missing: dict[str, str], fact: str) -> Any:
    answer = answers[key]
    if not answer.ok:
        missing.setdefault(fact, answer.error or "unknown error")
        return None
    return answer.value


def _parsed(parse, raw: Any, missing: dict[str, str], fact: str) -> Any:
    """Parse one answer; a shape we do not understand is reported, not raised."""
    if raw is None:
        return None
    try:
        return parse(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        missing[fact] = f"{fact}: Mattermost's answer had an unexpected shape ({exc}); is this a supported version?"
        return None


def build_facts(url: str, answers: dict[str, Answer]) -> models.MattermostFacts:
    missing: dict[str, str] = {}
    ping = answers["ping"].value if answers["ping"].ok else {}
    if answers["ping"].status_code == 500 and not ping:
        missing["Server status"] = answers["ping"].error or ""
    client_config = _value(answers, "client_config", missing, "Version and site") or {}
    server = models.parse_server(client_config, ping if isinstance(ping, dict) else {},
                                 answers["ping"].version_header or answers["client_config"].version_header)
    license_info = _parsed(models.parse_license, _value(answers, "license", missing, "License"), missing, "License")
    me = _parsed(models.parse_user, _value(answers, "me", missing, "Signed-in user"), missing, "Signed-in user")

    standard = _parsed(models.analytics_rows, _value(answers, "standard", missing, "Usage counts"),
                       missing, "Usage counts") or {}
    extra = _parsed(models.analytics_rows, _value(answers, "extra", missing, "Sessions, webhooks and files"),
                    missing, "Sessions, webhooks and files") or {}
    stats = answers["user_stats"].value if "user_stats" in answers and answers["user_stats"].ok else {}
    counts = models.parse_counts(standard, extra, models.as_int(stats.get("total_users_count")))
    teams = answers["teams"].value if "teams" in answers and answers["teams"].ok else None
    if counts.teams is None and isinstance(teams, dict) and "total_count" in teams:
        counts = dataclasses.replace(counts, teams=int(teams["total_count"]))

    posts_per_day = _parsed(models.parse_daily, _value(answers, "posts_per_day", missing, "Posts per day"),
                            missing, "Posts per day")
    active_raw = _value(answers, "active_per_day", missing, "Active users per day")
    active_per_day = _parsed(models.parse_daily, active_raw, missing, "Active users per day")
    if active_raw is not None and active_per_day is None and "Active users per day" not in missing:
        missing["Active users per day"] = (
            "Active users per day: Mattermost skips this statistic when the user count exceeds "
            "AnalyticsSettings.MaxUsersForStatistics; raise that setting to see it.")

    plugin_listing = _value(answers, "plugins", missing, "Plugins")
    statuses = _value(answers, "plugin_statuses", missing, "Plugin status per node")
    plugins = _parsed(lambda raw: models.parse_plugins(raw, statuses), plugin_listing, missing, "Plugins")
    cluster = _parsed(models.parse_cluster, _value(answers, "cluster", missing, "Cluster nodes"),
                      missing, "Cluster nodes")
    jobs = _parsed(models.parse_jobs, _value(answers, "jobs", missing, "Recent jobs"), missing, "Recent jobs")
    config = _value(answers, "config", missing, "Configuration")
    if config is not None and not isinstance(config, dict):
        missing["Configuration"] = "Configuration: Mattermost's answer was not a JSON object."
        config = None

    return models.MattermostFacts(
        url=url,
        server=server,
        license=license_info,
        counts=counts,
        posts_per_day=posts_per_day or (),
        active_users_per_day=active_per_day or (),
        plugins=plugins or (),
        cluster_nodes=cluster or (),
        jobs=jobs or (),
        signed_in_as=me,
        config=config,
        missing=missing,
    )


def _judge(facts: models.MattermostFacts, answers: dict[str, Answer]) -> tuple[SourceStatus, str | None]:
    if answers["me"].status_code == 401:
        return SourceStatus.ERROR, answers["me"].error
    me = facts.signed_in_as
    if me is not None and not me.is_system_admin:
        return SourceStatus.FORBIDDEN, (
            f"The token belongs to @{me.username}, who is not a system admin, so admin-only facts "
            f"({', '.join(sorted(facts.missing)) or 'none so far'}) are missing: use a system admin's "
            "personal access token.")
    if facts.missing:
        first = next(iter(facts.missing.values()))
        more = len(facts.missing) - 1
        return SourceStatus.DEGRADED, first + (f" (and {more} more missing)" if more else "")
    return SourceStatus.OK, None


async def collect(settings: MattermostSettings, client: httpx.AsyncClient) -> SourceResult:
    started = time.perf_counter()
    token = settings.token.get_secret_value() if settings.token else None

    def result(status: SourceStatus, data: Any = None, error: str | None = None) -> SourceResult:
        return SourceResult("mattermost", status, data, error, (time.perf_counter() - started) * 1000)

    api = MattermostApi(settings, client, token)
    if not token:
        return result(SourceStatus.ERROR, error=(
            "No Mattermost token is configured and nobody signed in with one: set mattermost.token "
            "to a system admin's personal access token."))
    answers = await _gather(api)
    ping = answers["ping"]
    if ping.transport_failed:
        return result(SourceStatus.ERROR, error=ping.error)
    not_mattermost = _not_mattermost(ping, settings.url)
    if not_mattermost:
        return result(SourceStatus.ERROR, error=not_mattermost)
    if answers["me"].status_code == 401:
        # A rejected token also hides the public facts; fetch those without it so the page still says something.
        answers["client_config"] = await api.get("/config/client", "Version and site", {"format": "old"},
                                                 anonymous=True)
        answers["license"] = await api.get("/license/client", "License", {"format": "old"}, anonymous=True)
    if all(not answer.ok for answer in answers.values()):
        return result(SourceStatus.ERROR, error=ping.error)
    facts = build_facts(settings.url, answers)
    status, error = _judge(facts, answers)
    return result(status, facts, error)


async def collect_latest_release(settings: MattermostSettings, client: httpx.AsyncClient) -> SourceResult:
    """The newest Mattermost release, as the server relays it from GitHub.

    Kept out of the regular collection: the server asks GitHub on every call (slow), the answer changes a few
    times a month, and air-gapped servers cannot reach GitHub at all.
    """
    started = time.perf_counter()
    token = settings.token.get_secret_value() if settings.token else None
    answer = await MattermostApi(settings, client, token).get("/latest_version", "Latest release")
    elapsed = (time.perf_counter() - started) * 1000
    if not answer.ok:
        return SourceResult(LATEST_RELEASE, SourceStatus.ERROR, error=answer.error, elapsed_ms=elapsed)
    try:
        version = models.parse_latest_version(answer.value)
    except (ValueError, AttributeError) as exc:
        return SourceResult(LATEST_RELEASE, SourceStatus.ERROR, elapsed_ms=elapsed,
                            error=f"Latest release: Mattermost's answer had an unexpected shape ({exc}).")
    return SourceResult(LATEST_RELEASE, SourceStatus.OK, data=version, elapsed_ms=elapsed)
