"""Route tables of the simulated /api/v4, one module per area of the Mattermost API."""

from __future__ import annotations

from starlette.routing import BaseRoute

from simulator.api import analytics, channels, cluster, jobs, playbooks, plugins, posts, system, teams, users


def routes() -> list[BaseRoute]:
    return [*system.ROUTES, *analytics.ROUTES, *users.ROUTES, *teams.ROUTES, *plugins.ROUTES, *cluster.ROUTES,
            *jobs.ROUTES, *channels.ROUTES, *posts.ROUTES, *playbooks.ROUTES]
