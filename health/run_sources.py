"""What a check or a watcher run collects: every source, the latest release, and Mattermost's own support packet
when it is due.

The packet (GET /api/v4/system/support_packet) is the only live source of each node's OS and open file
descriptors, of how many nodes the cluster counts and of the server's own connection tests (SMTP among them). A
real server profiles the CPU of every node for 5 s before it answers, so reading it with every collection would
slow every run and load the server each minute. So:

- the pages read it in the background, at most every SERVER_PACKET_EVERY_S (ui/context.py SLOW_SOURCES);
- the watcher reads it with an environment's first run and then once every SERVER_PACKET_EVERY_S; the runs in
  between are judged with the newest packet it read (which keeps its own collected_at), so at a one-minute watch
  interval one run in fifteen waits for the packet;
- `python -m health check` is a single run and reads it, unless told `--no-server-packet` (for checks run more
  often than that; `python -m health watch` is the way to judge every minute).

Each watcher process keeps its own newest packet: replicas sharing a store read at most one packet each per
interval.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from collectors.base import Snapshot, SourceResult
from settings import EnvironmentSettings

PACKET_SOURCE = "support_packet"  # collectors.support_packet.SOURCE; judging a packet offline loads no collector
SERVER_PACKET_EVERY_S = 15 * 60
SERVER_PACKET_DEADLINE_S = 120.0  # the CPU profile per node comes before the first byte of the packet


def watch_sources(*, server_packet: bool = False) -> tuple:
    """Every source, the latest release too, and the server's own packet when asked."""
    # Imported here: the collectors' client libraries (pandas among them) are not needed to judge a packet offline.
    from collectors import mattermost, support_packet
    from collectors.runner import SOURCES, Source

    latest = Source(mattermost.LATEST_RELEASE, "Latest Mattermost release", mattermost.collect_latest_release,
                    "mattermost", "url")
    packet = Source(support_packet.SOURCE, "Mattermost support packet", support_packet.collect, "mattermost", "url")
    return (*SOURCES, latest, *((packet,) if server_packet else ()))


def source_labels() -> dict[str, str]:
    """What the pages call each source, in the sidebar's order (the server's packet before the latest release)."""
    *collected, latest, packet = watch_sources(server_packet=True)
    return {source.name: source.label for source in (*collected, packet, latest)}


def packet_deadline(deadline_s: float) -> float:
    """The deadline of a collection that waits for the packet too."""
    return max(deadline_s, SERVER_PACKET_DEADLINE_S)


@dataclass
class ServerPacketSchedule:
    """The newest packet per environment, and whether the next collection should read a new one."""

    every_s: float = SERVER_PACKET_EVERY_S
    _newest: dict[tuple[str, str], tuple[datetime, SourceResult]] = field(default_factory=dict)

    @staticmethod
    def _key(env: EnvironmentSettings) -> tuple[str, str]:
        # The server's address is part of the key: a packet never describes another server.
        return env.name, str(env.mattermost.url) if env.mattermost is not None else ""

    def due(self, env: EnvironmentSettings, now: datetime) -> bool:
        newest = self._newest.get(self._key(env))
        return newest is None or (now - newest[0]).total_seconds() >= self.every_s

    async def collect(self, env: EnvironmentSettings, deadline_s: float, now: datetime) -> Snapshot:
        """Every source of `env`; the packet is read only when it is due, else the newest one joins the snapshot.
        A failed read is kept as well, so a server that cannot make packets is not asked every minute."""
        from collectors.runner import collect_all

        if not self.due(env, now):
            snapshot = await collect_all(env, deadline_s=deadline_s, sources=watch_sources())
            return self.with_newest(env, snapshot)
        snapshot = await collect_all(env, deadline_s=packet_deadline(deadline_s),
                                     sources=watch_sources(server_packet=True))
        result = snapshot.sources.get(PACKET_SOURCE)
        if result is not None:
            self._newest[self._key(env)] = (now, result)
        return snapshot

    def with_newest(self, env: EnvironmentSettings, snapshot: Snapshot) -> Snapshot:
        newest = self._newest.get(self._key(env))
        if newest is None:
            return snapshot
        return dataclasses.replace(snapshot, sources={**snapshot.sources, PACKET_SOURCE: newest[1]})
