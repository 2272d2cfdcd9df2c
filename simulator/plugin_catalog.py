"""Plugins a typical self-hosted Enterprise deployment runs, as manifests the scenarios pick from.

Settings marked secret matter: the config sanitizer masks exactly those (PluginSettings.Plugins.<id>.<key>),
so a dashboard can be tested against real masking rather than a hand-written list.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from simulator.model import Plugin, PluginSetting


def _plugin(
    plugin_id: str,
    name: str,
    description: str,
    version: str,
    min_server_version: str,
    repo: str,
    settings: tuple[PluginSetting, ...] = (),
    config_values: dict[str, Any] | None = None,
    has_webapp: bool = True,
) -> Plugin:
    return Plugin(
        id=plugin_id,
        name=name,
        description=description,
        version=version,
        min_server_version=min_server_version,
        homepage_url=f"https://github.com/mattermost/{repo}",
        support_url=f"https://github.com/mattermost/{repo}/issues",
        has_server=True,
        has_webapp=has_webapp,
        enabled=True,
        settings=settings,
        config_values=config_values or {},
    )


CATALOG: tuple[Plugin, ...] = (
    _plugin(
        "com.mattermost.calls", "Calls", "Voice calls and screen sharing in channels and direct messages.",
        "1.11.0", "10.4.0", "mattermost-plugin-calls",
        settings=(
            PluginSetting("UDPServerPort", "RTC Server Port (UDP)", "number", 8443),
            PluginSetting("ICEHostOverride", "ICE Host Override", "text", ""),
            PluginSetting("RTCDServiceURL", "RTCD service URL", "text", ""),
            PluginSetting("TURNStaticAuthSecret", "TURN static auth secret", "text", "", secret=True),
        ),
        config_values={
            "udpserverport": 8443,
            "icehostoverride": "calls.example.com",
            "rtcdserviceurl": "",
            "turnstaticauthsecret": "c4lls-turn-Shared-Secret-91f2",
        },
    ),
    _plugin(
        "playbooks", "Playbooks",
        "Checklists, automation and retrospectives for repeatable processes such as incident response.",
        "2.5.2", "10.9.0", "mattermost-plugin-playbooks",
        settings=(PluginSetting("EnableExperimentalFeatures", "Enable experimental features", "bool", False),),
        config_values={"enableexperimentalfeatures": False},
    ),
    _plugin(
        "focalboard", "Boards", "Kanban boards for planning and tracking work next to your channels.",
        "9.1.6", "10.0.0", "mattermost-plugin-boards",
    ),
    _plugin(
        "com.mattermost.nps", "User Satisfaction Surveys",
        "Asks users for product feedback and sends it to Mattermost.", "1.3.3", "5.37.0",
        "mattermost-plugin-nps",
        settings=(PluginSetting("EnableSurvey", "Enable user satisfaction survey", "bool", True),),
        config_values={"enablesurvey": True},
    ),
    _plugin(
        "jira", "Jira", "Create, view and get notified about Jira issues from Mattermost.",
        "4.3.0", "9.11.0", "mattermost-plugin-jira",
        settings=(
            PluginSetting("EnableJiraUI", "Enable Jira UI", "bool", True),
            PluginSetting("Secret", "Webhook secret", "generated", "", secret=True),
            PluginSetting("JiraAdminAdditionalHelpText", "Admin help text", "text", ""),
        ),
        config_values={
            "enablejiraui": True,
            "secret": "jira-Webhook-Secret-7b1d0c",
            "jiraadminadditionalhelptext": "",
        },
    ),
    _plugin(
        "github", "GitHub", "Subscriptions, pull request reminders and slash commands for GitHub.",
        "2.5.0", "9.11.0", "mattermost-plugin-github",
        settings=(
            PluginSetting("GitHubOAuthClientID", "GitHub OAuth Client ID", "text", ""),
            PluginSetting("GitHubOAuthClientSecret", "GitHub OAuth Client Secret", "text", "", secret=True),
            PluginSetting("WebhookSecret", "Webhook Secret", "generated", "", secret=True),
            PluginSetting("EncryptionKey", "At Rest Encryption Key", "generated", "", secret=True),
            PluginSetting("EnterpriseBaseURL", "Enterprise Base URL", "text", ""),
        ),
        config_values={
            "githuboauthclientid": "Iv1.4f3c2a1b0d9e8f7a",
            "githuboauthclientsecret": "gh-oauth-Client-Secret-3e9a77c1",
            "webhooksecret": "gh-Webhook-Secret-51aa",
            "encryptionkey": "gh-Encryption-Key-0c7e5b",
            "enterprisebaseurl": "",
        },
    ),
    _plugin(
        "com.mattermost.plugin-channel-export", "Channel Export",
        "Exports the messages of a channel to a file.", "1.2.1", "9.0.0",
        "mattermost-plugin-channel-export",
    ),
    _plugin(
        "mattermost-ai", "Agents", "AI assistants and LLM-backed features for Mattermost.",
        "1.6.2", "10.5.0", "mattermost-plugin-ai",
        settings=(PluginSetting("Config", "Configuration", "custom", None),),
        config_values={"config": {"services": [], "bots": [], "enableLLMTrace": False}},
    ),
    _plugin(
        "com.github.manland.mattermost-plugin-gitlab", "GitLab",
        "Subscriptions, merge request reminders and slash commands for GitLab.", "1.10.0", "9.0.0",
        "mattermost-plugin-gitlab",
        settings=(
            PluginSetting("GitlabURL", "GitLab URL", "text", "https://gitlab.com"),
            PluginSetting("GitlabOAuthClientSecret", "GitLab OAuth Client Secret", "text", "", secret=True),
            PluginSetting("WebhookSecret", "Webhook Secret", "generated", "", secret=True),
        ),
        config_values={
            "gitlaburl": "https://gitlab.example.com",
            "gitlaboauthclientsecret": "gl-oauth-Client-Secret-aa41",
            "webhooksecret": "gl-Webhook-Secret-92b0",
        },
    ),
    _plugin(
        "zoom", "Zoom", "Start Zoom meetings from a channel.", "1.8.0", "8.1.0", "mattermost-plugin-zoom",
        settings=(
            PluginSetting("ZoomURL", "Zoom URL", "text", ""),
            PluginSetting("OAuthClientSecret", "Zoom OAuth Client Secret", "text", "", secret=True),
        ),
        config_values={"zoomurl": "", "oauthclientsecret": "zoom-oauth-Secret-d00d"},
    ),
)

# Settings left behind in the config by a plugin that was since removed: Mattermost's sanitizer drops the
# whole map because no manifest says which keys are secret.
ORPHANED_PLUGIN_SETTINGS: dict[str, dict[str, Any]] = {
    "com.example.legacy-sso-bridge": {"clientsecret": "legacy-Bridge-Secret-77", "endpoint": "https://sso.example.com"},
}


def select(enabled: set[str], installed: set[str] | None = None) -> tuple[Plugin, ...]:
    """Plugins from the catalog: those installed (default: all), enabled where their id is in `enabled`."""
    chosen = [p for p in CATALOG if installed is None or p.id in installed]
    return tuple(replace(p, enabled=p.id in enabled) for p in chosen)
