"""The search collector against the stand-in cluster: facts per engine, and one sentence per failure."""

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from pydantic import SecretStr

from collectors import SourceStatus
from collectors.elasticsearch import collect
from collectors.runner import tls_context
from settings import ElasticsearchSettings
from simulator.search_engine import POST_DAYS, RunningSearchEngine, User, start_search_engine


@pytest.fixture
def search_engine() -> Iterator[Callable[..., RunningSearchEngine]]:
    """`search_engine("opensearch-2", health="red")` starts a stand-in cluster, stopped when the test ends."""
    started: list[RunningSearchEngine] = []

    def start(release: str = "elasticsearch-8", **kwargs) -> RunningSearchEngine:
        engine = start_search_engine(release, **kwargs)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()


def settings_for(url: str, user: User | None = None, *, password: str | None = None,
                 verify_tls: bool = True) -> ElasticsearchSettings:
    secret = password if password is not None else (user.password if user else None)
    return ElasticsearchSettings(url=url, username=user.name if user else None,
                                 password=SecretStr(secret) if secret else None, verify_tls=verify_tls,
                                 timeout_seconds=5)


async def run(settings: ElasticsearchSettings):
    async with httpx.AsyncClient(verify=tls_context(None, settings.verify_tls)) as client:
        return await collect(settings, client)


async def test_elasticsearch_8_gives_version_icu_health_and_mattermost_indexes(search_engine):
    engine = search_engine("elasticsearch-8")
    result = await run(settings_for(engine.url))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert (facts.distribution, facts.version, facts.major_version) == ("elasticsearch", "8.15.3", 8)
    assert facts.cluster_name == "mattermost-search"
    assert (facts.health_status, facts.nodes, facts.unassigned_shards) == ("green", 3, 0)
    assert facts.has_analysis_icu is True
    assert {(p.node, p.component) for p in facts.plugins} == {(f"es-node-{n}", "analysis-icu") for n in (1, 2, 3)}
    assert len(facts.posts_indexes) == POST_DAYS
    assert {i.name for i in facts.indexes} - {i.name for i in facts.posts_indexes} == {"channels", "users", "files"}
    assert all(not i.name.startswith("app-logs") for i in facts.indexes)  # another application's index
    assert facts.total_docs == sum(i.docs_count for i in facts.indexes) > 0
    assert facts.total_size_bytes == sum(i.size_bytes for i in facts.indexes) > 0
    assert [h.node for h in facts.heap] == ["es-node-1", "es-node-2", "es-node-3"]
    assert all(0 < h.heap_used_percent < 100 for h in facts.heap)
    assert facts.missing == {}


async def test_elasticsearch_7_17_without_icu_on_one_node_is_yellow(search_engine):
    engine = search_engine("elasticsearch-7.17", analysis_icu=False, health="yellow")
    result = await run(settings_for(engine.url))
    assert result.status is SourceStatus.OK, result.error
    facts = result.data
    assert facts.version.startswith("7.17.") and facts.major_version == 7
    assert facts.has_analysis_icu is False and facts.plugins == ()
    assert (facts.health_status, facts.nodes) == ("yellow", 1)
    assert facts.unassigned_shards == len(engine.cluster.indexes)  # every replica has nowhere to go
    assert {i.health for i in facts.indexes} == {"yellow"}


async def test_opensearch_is_recognised_with_its_icu_plugin(search_engine):
    engine = search_engine("opensearch-2")
    result = await run(settings_for(engine.url))
    facts = result.data
    assert result.status is SourceStatus.OK, result.error
    assert (facts.distribution, facts.version) == ("opensearch", "2.17.1")
    assert facts.has_analysis_icu is True
    assert {"opensearch-analysis-icu", "opensearch-security"} <= {p.component for p in facts.plugins}
    assert all(not i.name.startswith(".") for i in facts.indexes)


async def test_opensearch_without_icu(search_engine):
    engine = search_engine("opensearch-2", analysis_icu=False)
    facts = (await run(settings_for(engine.url))).data
    assert facts.has_analysis_icu is False and facts.plugins  # the bundled plugins are still listed


async def test_red_cluster_is_a_fact_not_an_error(search_engine):
    engine = search_engine("elasticsearch-8", health="red")
    result = await run(settings_for(engine.url))
    assert result.status is SourceStatus.OK and result.error is None
    facts = result.data
    assert facts.health_status == "red" and facts.unassigned_shards == 2
    red = [i for i in facts.indexes if i.health == "red"]
    assert [i.name for i in red] == [facts.posts_indexes[-1].name]  # the newest day lost both copies
    assert red[0].docs_count is None and red[0].size_bytes is None
    assert facts.total_docs == sum(i.docs_count for i in facts.indexes if i.docs_count is not None)


async def test_index_prefix_is_followed(search_engine):
    engine = search_engine("elasticsearch-8", index_prefix="mm_")
    facts = (await run(settings_for(engine.url))).data
    assert {i.name for i in facts.indexes if i.kind != "posts"} == {"mm_channels", "mm_users", "mm_files"}
    assert len(facts.posts_indexes) == POST_DAYS


async def test_basic_auth_with_the_right_password(search_engine):
    engine = search_engine("elasticsearch-8", security=True)
    result = await run(settings_for(engine.url, engine.admin))
    assert result.status is SourceStatus.OK, result.error
    assert result.data.version == "8.15.3"


async def test_credentials_in_the_url_are_used_but_never_shown(search_engine):
    engine = search_engine("elasticsearch-8", security=True)
    host = engine.url.removeprefix("http://")
    result = await run(settings_for(f"http://elastic:{engine.admin.password}@{host}"))
    assert result.status is SourceStatus.OK, result.error
    assert result.data.url == engine.url
    wrong = await run(settings_for(f"http://elastic:not-the-password@{host}"))
    assert "'elastic'" in wrong.error and "not-the-password" not in wrong.error


@pytest.mark.parametrize("release", ["elasticsearch-8", "opensearch-2"])
async def test_wrong_password_is_one_sentence(search_engine, release):
    engine = search_engine(release, security=True)
    result = await run(settings_for(engine.url, engine.admin, password="wrong"))
    assert result.status is SourceStatus.ERROR and result.data is None
    assert "rejected the user name or password of 'elastic'" in result.error and "HTTP 401" in result.error
    assert engine.admin.password not in result.error


async def test_missing_credentials_are_named(search_engine):
    engine = search_engine("elasticsearch-8", security=True)
    result = await run(settings_for(engine.url))
    assert result.status is SourceStatus.ERROR
    assert "requires a user name and password" in result.error and "elasticsearch.username" in result.error


@pytest.mark.parametrize("release", ["elasticsearch-8", "opensearch-2"])
async def test_user_without_monitor_privilege_is_forbidden_but_indexes_remain(search_engine, release):
    engine = search_engine(release, security=True)
    result = await run(settings_for(engine.url, engine.limited_user))
    assert result.status is SourceStatus.FORBIDDEN
    assert "'mattermost'" in result.error and "'monitor' cluster privilege" in result.error
    facts = result.data
    assert len(facts.posts_indexes) == POST_DAYS  # index-level reads still work
    assert facts.version is None and facts.health_status is None
    assert set(facts.missing) == {"Version", "Cluster health", "Plugins", "JVM heap"}
    assert "HTTP 403" in facts.missing["Cluster health"]


async def test_self_signed_certificate_is_a_tls_sentence(search_engine):
    engine = search_engine("elasticsearch-8", tls=True)
    assert engine.url.startswith("https://")
    result = await run(settings_for(engine.url))
    assert result.status is SourceStatus.ERROR
    assert "TLS certificate of 127.0.0.1 could not be verified" in result.error
    assert "set ca_bundle" in result.error


async def test_unverified_tls_reads_the_facts(search_engine):
    engine = search_engine("elasticsearch-8", tls=True)
    result = await run(settings_for(engine.url, verify_tls=False))
    assert result.status is SourceStatus.OK, result.error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_cluster_says_nothing_is_listening():
    result = await run(settings_for(f"http://127.0.0.1:{free_port()}"))
    assert result.status is SourceStatus.ERROR
    assert "Nothing is listening" in result.error and "Elasticsearch/OpenSearch" in result.error


async def test_a_url_that_is_not_a_search_engine_is_recognised(simulator):
    result = await run(settings_for(simulator.url))  # Mattermost itself, a common mix-up
    assert result.status is SourceStatus.ERROR
    assert "not as Elasticsearch or OpenSearch would" in result.error and "9200" in result.error
