"""collect_all: concurrent sources under one deadline; errors are values."""

import asyncio
import time

from collectors import SourceResult, SourceStatus, collect_all
from collectors.runner import PlannedSource, Source, collect_sources
from settings import EnvironmentSettings, MattermostSettings


def sleeper(seconds: float, status=SourceStatus.OK):
    async def collect(settings, client):
        await asyncio.sleep(seconds)
        return SourceResult("s", status, data={"slept": seconds})
    return collect


async def test_sources_run_concurrently_and_time_is_the_slowest():
    planned = [PlannedSource(f"s{i}", sleeper(0.2 + i * 0.05), None) for i in range(5)]
    started = time.perf_counter()
    results = await collect_sources(planned, deadline_s=5)
    elapsed = time.perf_counter() - started
    assert set(results) == {f"s{i}" for i in range(5)}
    assert elapsed < 0.45 + 0.2


async def test_a_source_past_the_deadline_becomes_an_error_value():
    planned = [PlannedSource("fast", sleeper(0.01), None), PlannedSource("stuck", sleeper(30), None)]
    started = time.perf_counter()
    results = await collect_sources(planned, deadline_s=0.3)
    assert time.perf_counter() - started < 1
    assert results["fast"].status is SourceStatus.OK
    assert results["stuck"].status is SourceStatus.ERROR
    assert "0.3 s collection deadline" in results["stuck"].error


async def test_a_crashing_collector_does_not_take_the_others_down():
    async def broken(settings, client):
        raise KeyError("boom")
    results = await collect_sources([PlannedSource("broken", broken, None),
                                     PlannedSource("fine", sleeper(0), None)], deadline_s=2)
    assert results["broken"].status is SourceStatus.ERROR and "KeyError" in results["broken"].error
    assert results["fine"].status is SourceStatus.OK


async def test_unconfigured_sources_say_which_setting_to_set():
    source = Source("mattermost", "Mattermost API", sleeper(0), "mattermost", "url")
    snapshot = await collect_all(EnvironmentSettings(name="eu-prod", label="EU"), sources=[source])
    result = snapshot.sources["mattermost"]
    assert result.status is SourceStatus.NOT_CONFIGURED
    assert "MMDASH_EU_PROD__MATTERMOST__URL" in result.error


async def test_collect_all_on_the_simulator(simulator):
    from pydantic import SecretStr
    env = EnvironmentSettings(name="prod", label="Production",
                              mattermost=MattermostSettings(url=simulator.url, token=SecretStr(simulator.admin_token)))
    snapshot = await collect_all(env, deadline_s=10)
    assert snapshot.environment == "prod"
    assert snapshot.sources["mattermost"].status is SourceStatus.OK
    assert snapshot.data("mattermost").server.version
