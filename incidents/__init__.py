"""Incidents: playbooks kept as YAML, incidents started, run and ended in Mattermost channels (slash command,
automation endpoint, timeline, forwarding and outgoing webhooks)."""
