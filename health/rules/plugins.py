"""Plugins: the framework, its health check, and plugins that should run but do not."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, check, need, not_applicable, rule, setting

AREA = "Plugins"


@rule("PLUGINS_OFF", area=AREA, severity=Severity.INFO, title="Plugins are disabled",
      remediation="Enable PluginSettings.Enable to use Playbooks, Calls, Boards and integrations.", docs=docs.PLUGINS)
def plugins_off(inputs: RuleInputs) -> Check:
    enabled = setting(need(inputs.config), "PluginSettings.Enable")
    return check(not enabled, f"PluginSettings.Enable = {enabled}", "true")


@rule("PLUGIN_HEALTH_OFF", area=AREA, severity=Severity.WARNING, title="Plugin health checks are off",
      remediation="Enable PluginSettings.EnableHealthCheck so crashed plugins are restarted.", docs=docs.PLUGINS)
def plugin_health(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if not setting(config, "PluginSettings.Enable"):
        return not_applicable("plugins are disabled")
    enabled = setting(config, "PluginSettings.EnableHealthCheck")
    return check(not enabled, f"EnableHealthCheck = {enabled}", "true")


@rule("PLUGIN_NOT_RUNNING", area=AREA, severity=Severity.WARNING, title="An enabled plugin is not running",
      remediation="Open System Console > Plugins > Plugin Management for the plugin's error; check its settings and "
                  "the server log, then disable and re-enable it.", docs=docs.PLUGINS)
def plugin_not_running(inputs: RuleInputs) -> list[Check]:
    hostnames = {node.id: node.hostname for node in (inputs.nodes.value or ()) if node.id}
    checks = []
    for plugin in need(inputs.plugins):
        if not plugin.enabled:
            continue
        bad = [n for n in plugin.nodes if n.state != "running"]
        observed = "; ".join(f"{hostnames.get(n.node_id, n.node_id)}: {n.state}" + (f" ({n.error})" if n.error else "")
                             for n in bad)
        checks.append(check(bool(bad), observed or f"running on {len(plugin.nodes)} node(s)", "running on every node",
                            subject=plugin.id))
    return checks or [not_applicable("no plugin is enabled")]
