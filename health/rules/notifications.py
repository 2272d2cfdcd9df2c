"""Email and push notifications."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, probe_check, rule, setting

AREA = "Notifications"
TEST_PROXY = "https://push-test.mattermost.com"


def _push_server(inputs: RuleInputs) -> str | None:
    email = setting(need(inputs.config), "EmailSettings")
    return str(email.get("PushNotificationServer") or "") if email.get("SendPushNotifications") else None


@rule("PUSH_EMPTY_URL", area=AREA, severity=Severity.CRITICAL, title="Push notifications have no server",
      remediation="Set EmailSettings.PushNotificationServer (e.g. the Mattermost hosted push proxy).", docs=docs.SITE)
def push_empty(inputs: RuleInputs) -> Check:
    server = _push_server(inputs)
    if server is None:
        return not_applicable("push notifications are off")
    return check(not server, f"PushNotificationServer = {server!r}", "a push proxy URL")


@rule("PUSH_BAD_SCHEME", area=AREA, severity=Severity.CRITICAL, title="The push proxy is not reached over HTTPS",
      remediation="Use an https:// PushNotificationServer.", docs=docs.SITE)
def push_scheme(inputs: RuleInputs) -> Check:
    server = _push_server(inputs)
    if not server:
        return not_applicable("no push server configured")
    return check(not server.startswith("https://"), f"PushNotificationServer = {server}", "https://")


@rule("PUSH_TEST_PROXY", area=AREA, severity=Severity.WARNING, title="Push uses Mattermost's test proxy",
      remediation="The test push proxy has no delivery guarantee: use the production proxy or your own.",
      docs=docs.SITE)
def push_test(inputs: RuleInputs) -> Check:
    server = _push_server(inputs)
    if not server:
        return not_applicable("no push server configured")
    return check(server.rstrip("/") == TEST_PROXY, f"PushNotificationServer = {server}", "a production push proxy")


@rule("PUSH_FULL_CONTENTS", area=AREA, severity=Severity.INFO, title="Push notifications carry full message text",
      remediation="Choose 'generic' or 'id_loaded' in EmailSettings.PushNotificationContents to keep message text "
                  "off third-party push services.", docs=docs.SITE)
def push_contents(inputs: RuleInputs) -> Check:
    server = _push_server(inputs)
    if server is None:
        return not_applicable("push notifications are off")
    contents = setting(need(inputs.config), "EmailSettings.PushNotificationContents")
    return check(contents == "full", f"PushNotificationContents = {contents}", "generic or id_loaded")


@rule("SMTP_NOT_CONFIGURED", area=AREA, severity=Severity.WARNING,
      title="Email notifications are on without an SMTP server",
      remediation="Set EmailSettings.SMTPServer and port, then use 'Test Connection' in the System Console.",
      docs=docs.ENVIRONMENT)
def smtp_missing(inputs: RuleInputs) -> Check:
    email = setting(need(inputs.config), "EmailSettings")
    if not email.get("SendEmailNotifications"):
        return not_applicable("email notifications are off")
    server = email.get("SMTPServer")
    return check(not server, f"SMTPServer = {server!r}", "an SMTP server")


@rule("SMTP_UNREACHABLE", area=AREA, severity=Severity.WARNING, title="The SMTP connection test fails",
      remediation="Check the SMTP server, port, security and credentials; email notifications are not delivered.",
      docs=docs.ENVIRONMENT)
def smtp_probe(inputs: RuleInputs) -> Check:
    return probe_check(inputs, "email", "SMTP connection test", "reported in a Mattermost v12 support packet")


@rule("LINK_PREVIEWS_DISABLED", area=AREA, severity=Severity.INFO, title="Link previews are off",
      remediation="Enable ServiceSettings.EnableLinkPreviews unless policy forbids fetching linked sites.",
      docs=docs.SITE)
def link_previews(inputs: RuleInputs) -> Check:
    value = setting(need(inputs.config), "ServiceSettings.EnableLinkPreviews")
    return check(not value, f"EnableLinkPreviews = {value}", "true")


@rule("MAX_NOTIFICATIONS_PER_CHANNEL", area=AREA, severity=Severity.INFO,
      title="Large channels still send per-post notifications",
      remediation="Keep TeamSettings.MaxNotificationsPerChannel at 5,000 or less so huge channels do not flood "
                  "notifications.", docs=docs.SITE)
def max_notifications(inputs: RuleInputs) -> Check:
    value = number(setting(need(inputs.config), "TeamSettings.MaxNotificationsPerChannel"))
    if value is None:
        raise MissingInput("TeamSettings.MaxNotificationsPerChannel is not a number")
    return check(value > 5000, f"MaxNotificationsPerChannel = {value:,}", "5,000 or less")


@rule("TYPING_MESSAGES_AT_SCALE", area=AREA, severity=Severity.WARNING, title="Typing indicators on a large deployment",
      remediation="Turn off ServiceSettings.EnableUserTypingMessages above about 5,000 active users: the events cost "
                  "websocket traffic.", docs=docs.SCALING)
def typing_messages(inputs: RuleInputs) -> Check:
    value = setting(need(inputs.config), "ServiceSettings.EnableUserTypingMessages")
    active = need(inputs.usage).active_users
    if active is None:
        raise MissingInput("the number of active users was not reported")
    return check(bool(value) and active >= 5000, f"typing messages {'on' if value else 'off'}, {active:,} active users",
                 "off from 5,000 active users")
