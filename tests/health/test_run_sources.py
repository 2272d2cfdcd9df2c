"""What a check or a watcher run collects, against the simulator: Mattermost's own support packet is read when it is
due and otherwise reused, never for another server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from health.run_sources import PACKET_SOURCE, SERVER_PACKET_EVERY_S, ServerPacketSchedule
from settings import EnvironmentSettings, MattermostSettings

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
PACKET_PATH = "/api/v4/system/support_packet"


def _env(sim, name: str = "production") -> EnvironmentSettings:
    return EnvironmentSettings(name=name, label=name.title(), mattermost=MattermostSettings(
        url=sim.url, token=SecretStr(sim.admin_token), timeout_seconds=5))


async def test_the_packet_is_read_once_per_interval_and_joins_the_runs_between(simulator) -> None:
    """The packet's diagnostics.yaml (server/channels/app/support_packet.go) is the only live source of the nodes'
    OS: the first run reads it, a run within 15 minutes judges with the same one without asking the server."""
    schedule, env = ServerPacketSchedule(), _env(simulator)
    first = await schedule.collect(env, 10, T0)
    packet = first.sources[PACKET_SOURCE]
    assert packet.status.value == "ok" and packet.data.cluster.nodes
    simulator.faults.set(PACKET_PATH, status=500)  # asking again now would fail
    later = await schedule.collect(env, 10, T0 + timedelta(seconds=SERVER_PACKET_EVERY_S - 60))
    assert later.sources[PACKET_SOURCE] is packet and later.sources["mattermost"].collected_at > packet.collected_at
    due = await schedule.collect(env, 10, T0 + timedelta(seconds=SERVER_PACKET_EVERY_S))
    assert due.sources[PACKET_SOURCE].status.value == "error"  # read again, and the failure says so


async def test_a_packet_is_never_reused_for_another_server(simulator, simulator_factory) -> None:
    schedule = ServerPacketSchedule()
    await schedule.collect(_env(simulator), 10, T0)
    degraded = simulator_factory("degraded")
    other = _env(degraded)  # the same environment name, pointed at another server
    assert schedule.due(other, T0 + timedelta(minutes=1)) and not schedule.due(_env(simulator), T0)
    snapshot = await schedule.collect(other, 10, T0 + timedelta(minutes=1))
    hosts = {n.server.hostname for n in snapshot.sources[PACKET_SOURCE].data.cluster.nodes}
    assert hosts == {n.hostname for n in degraded.model.nodes}  # its own packet, read now
