"""Search at scale: Elasticsearch/OpenSearch settings, and the live search cluster."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, probe_check, rule, setting

AREA = "Search"


def _es(inputs: RuleInputs) -> dict | None:
    es = setting(need(inputs.config), "ElasticsearchSettings")
    return es if es.get("EnableIndexing") else None


OFF = "Elasticsearch indexing is off"


def _live_batch_size(inputs: RuleInputs) -> int | None:
    """LiveIndexingBatchSize, or None when indexing is off."""
    es = _es(inputs)
    if es is None:
        return None
    size = number(es.get("LiveIndexingBatchSize"))
    if size is None:
        raise MissingInput("ElasticsearchSettings.LiveIndexingBatchSize is not set")
    return size


def _posts(inputs: RuleInputs) -> int:
    posts = need(inputs.usage).posts
    if posts is None:
        raise MissingInput("the number of posts was not reported")
    return posts


@rule("SCALE_ES_REQUIRED", area=AREA, severity=Severity.CRITICAL, title="Over 5 million posts searched by the database",
      remediation="Set up Elasticsearch or OpenSearch and enable it for searching: database search degrades badly "
                  "at this size.", docs=docs.ELASTICSEARCH)
def es_required(inputs: RuleInputs) -> Check:
    searching = setting(need(inputs.config), "ElasticsearchSettings.EnableSearching")
    posts = _posts(inputs)
    return check(not searching and posts > 5_000_000, f"{posts:,} posts, Elasticsearch searching "
                 f"{'on' if searching else 'off'}", "Elasticsearch from 5,000,000 posts")


@rule("SCALE_ES_RECOMMENDED", area=AREA, severity=Severity.WARNING,
      title="Over 2.5 million posts searched by the database",
      remediation="Plan Elasticsearch or OpenSearch before the deployment outgrows database search.",
      docs=docs.ELASTICSEARCH)
def es_recommended(inputs: RuleInputs) -> Check:
    searching = setting(need(inputs.config), "ElasticsearchSettings.EnableSearching")
    posts = _posts(inputs)
    return check(not searching and 2_500_000 < posts <= 5_000_000, f"{posts:,} posts, Elasticsearch searching "
                 f"{'on' if searching else 'off'}", "Elasticsearch from 2,500,000 posts")


@rule("ES_LOCALHOST_URL", area=AREA, severity=Severity.WARNING, title="A cluster points Elasticsearch at localhost",
      remediation="Every node must reach the same search cluster: use its shared address, not localhost.",
      docs=docs.ELASTICSEARCH)
def es_localhost(inputs: RuleInputs) -> Check:
    es = _es(inputs)
    if es is None:
        return not_applicable(OFF)
    if not setting(need(inputs.config), "ClusterSettings.Enable"):
        return not_applicable("not a cluster")
    host = urlsplit(str(es.get("ConnectionURL") or "")).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return check(loopback, f"ConnectionURL host {host or '(empty)'}", "a shared search cluster")


@rule("ES_SERVER_ERROR", area=AREA, severity=Severity.CRITICAL, title="The search cluster cannot be reached",
      remediation="Check the ConnectionURL, credentials and that the cluster is up; search falls back or fails.",
      docs=docs.ELASTICSEARCH)
def es_error(inputs: RuleInputs) -> Check:
    if _es(inputs) is None:
        return not_applicable(OFF)
    return probe_check(inputs, "elastic", "search cluster test", "configure the elasticsearch source, or import a "
                       "support packet")


@rule("ES_LIVE_BATCH_SYNC", area=AREA, severity=Severity.WARNING, title="Posts are indexed one at a time",
      remediation="Raise ElasticsearchSettings.LiveIndexingBatchSize (e.g. 10 to 20) on busy deployments.",
      docs=docs.ELASTICSEARCH)
def es_batch_low(inputs: RuleInputs) -> Check:
    size = _live_batch_size(inputs)
    if size is None:
        return not_applicable(OFF)
    return check(size <= 1, f"LiveIndexingBatchSize = {size}", "more than 1")


@rule("ES_LIVE_BATCH_TOO_HIGH", area=AREA, severity=Severity.WARNING, title="New posts wait long to be searchable",
      remediation="Keep LiveIndexingBatchSize at 100 or less so new posts appear in search promptly.",
      docs=docs.ELASTICSEARCH)
def es_batch_high(inputs: RuleInputs) -> Check:
    size = _live_batch_size(inputs)
    if size is None:
        return not_applicable(OFF)
    return check(size > 100, f"LiveIndexingBatchSize = {size}", "100 or less")


@rule("ES_SKIP_TLS_VERIFY", area=AREA, severity=Severity.INFO, title="Elasticsearch TLS certificates are not verified",
      remediation="Give Mattermost the search cluster's CA (ElasticsearchSettings.CA) and turn SkipTLSVerification "
                  "off.",
      docs=docs.ELASTICSEARCH)
def es_skip_tls(inputs: RuleInputs) -> Check:
    es = _es(inputs)
    if es is None:
        return not_applicable(OFF)
    https = str(es.get("ConnectionURL") or "").startswith("https://")
    skip = bool(es.get("SkipTLSVerification"))
    return check(https and skip, f"SkipTLSVerification = {skip}", "certificates verified")


@rule("ES_VERSION_UNSUPPORTED", area=AREA, severity=Severity.CRITICAL,
      title="The search cluster runs a version Mattermost does not support",
      remediation="Upgrade to Elasticsearch 8 or 9, or OpenSearch 2 or 3.", docs=docs.ELASTICSEARCH)
def es_version(inputs: RuleInputs) -> Check:
    facts = need(inputs.search)
    if facts.major_version is None:
        raise MissingInput("the search cluster did not report its version")
    supported = (8, 9) if facts.distribution == "elasticsearch" else (2, 3)
    return check(facts.major_version not in supported, f"{facts.distribution} {facts.version}",
                 f"{facts.distribution} {' or '.join(map(str, supported))}")


@rule("ES_MISSING_ICU", area=AREA, severity=Severity.WARNING, title="The ICU analysis plugin is missing",
      remediation="Install analysis-icu (or opensearch-analysis-icu) on every node: search in Chinese, Japanese, "
                  "Korean and other languages depends on it.", docs=docs.ELASTICSEARCH)
def es_icu(inputs: RuleInputs) -> Check:
    facts = need(inputs.search)
    if "Plugins" in facts.missing:
        raise MissingInput(facts.missing["Plugins"])
    plugins = sorted({p.component for p in facts.plugins}) or ["none"]
    return check(not facts.has_analysis_icu, f"plugins: {', '.join(plugins)}", "analysis-icu installed")


@rule("ES_CLUSTER_HEALTH", area=AREA, severity=Severity.WARNING, title="The search cluster is not green",
      remediation="Yellow: replicas are unassigned (add a node or set replicas to 0 on a single node). Red: a "
                  "primary shard is lost; restore it or reindex from System Console > Elasticsearch.",
      docs=docs.ELASTICSEARCH)
def es_health(inputs: RuleInputs) -> Check:
    facts = need(inputs.search)
    if facts.health_status is None:
        raise MissingInput(facts.missing.get("Cluster health", "the cluster health was not reported"))
    return check(facts.health_status != "green", f"cluster {facts.health_status}, "
                 f"{facts.unassigned_shards or 0} unassigned shards", "green")
