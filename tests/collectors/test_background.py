"""A slow source collected in the background: callers get the last result at once, refreshed when stale."""

import asyncio
import time

from collectors import SourceResult, SourceStatus
from collectors.background import BackgroundSource
from collectors.runner import PlannedSource


def counting_source():
    calls = []

    async def collect(settings, client):
        calls.append(time.monotonic())
        await asyncio.sleep(0.2)
        return SourceResult("slow", SourceStatus.OK, data=len(calls))

    return collect, calls


def test_first_call_does_not_wait_and_the_result_arrives_later():
    collect, calls = counting_source()
    source = BackgroundSource(PlannedSource("slow", collect, None), deadline_s=5, max_age_s=60)
    started = time.perf_counter()
    assert source.latest() is None
    assert time.perf_counter() - started < 0.1
    assert source.wait(5).data == 1
    assert source.latest().data == 1 and len(calls) == 1  # fresh: no new collection


def test_a_stale_result_is_served_while_a_new_one_is_collected():
    collect, _calls = counting_source()
    source = BackgroundSource(PlannedSource("slow", collect, None), deadline_s=5, max_age_s=0.05)
    source.latest()
    source.wait(5)
    time.sleep(0.1)
    assert source.latest().data == 1  # the old result, at once
    assert source.wait(5).data == 2


def test_a_failing_source_becomes_an_error_value():
    async def broken(settings, client):
        raise RuntimeError("boom")

    source = BackgroundSource(PlannedSource("broken", broken, None), deadline_s=5, max_age_s=60)
    source.latest()
    result = source.wait(5)
    assert result.status is SourceStatus.ERROR and "RuntimeError" in result.error
