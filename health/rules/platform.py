"""Site URL, file store, server process, logging and metrics settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, optional_setting, rule, setting

AREA = "Platform"


def _clustered(config: dict) -> bool:
    return bool(optional_setting(config, "ClusterSettings.Enable", False))


@rule("SITE_URL_EMPTY", area=AREA, severity=Severity.CRITICAL, title="Site URL is not set",
      remediation="Set System Console > Environment > Web Server > Site URL to the address users type: links in "
                  "emails, notifications and integrations depend on it.", docs=docs.ENVIRONMENT)
def site_url_empty(inputs: RuleInputs) -> Check:
    url = setting(need(inputs.config), "ServiceSettings.SiteURL")
    return check(not url, f"SiteURL = {url!r}" if url else "SiteURL is empty", "a full URL such as https://chat.example.com")


@rule("SITE_URL_HTTP", area=AREA, severity=Severity.WARNING, title="Site URL does not use HTTPS",
      remediation="Serve Mattermost over TLS (at a proxy or with ServiceSettings.ConnectionSecurity) and change the "
                  "Site URL to https://; mobile apps and browsers need it.", docs=docs.ENVIRONMENT)
def site_url_http(inputs: RuleInputs) -> Check:
    url = setting(need(inputs.config), "ServiceSettings.SiteURL")
    if not url:
        return not_applicable("SiteURL is empty (see SITE_URL_EMPTY)")
    return check(urlsplit(url).scheme != "https", f"SiteURL = {url}", "an https:// URL")


@rule("SERVER_UNHEALTHY", area=AREA, severity=Severity.CRITICAL, title="Mattermost reports itself unhealthy",
      remediation="Check the server log for the failing part (database write, file store test or goroutine count) "
                  "and the system ping at /api/v4/system/ping?get_server_status=true.", docs=docs.HEALTH_CHECKS)
def server_unhealthy(inputs: RuleInputs) -> Check:
    status = need(inputs.server_status)
    return check(status.get("status") not in ("OK", None), f"ping status {status.get('status')}", "OK")


@rule("DATABASE_WRITE_FAILING", area=AREA, severity=Severity.CRITICAL, title="Mattermost cannot write to its database",
      remediation="Check the database's disk space, read-only state and the SqlSettings.DataSource credentials.",
      docs=docs.HEALTH_CHECKS)
def database_write_failing(inputs: RuleInputs) -> Check:
    status = need(inputs.server_status)
    value = status.get("database_status")
    if value is None:
        raise MissingInput("the ping did not report database_status")
    return check(value != "OK", f"database_status {value}", "OK")


@rule("FILESTORE_UNREACHABLE", area=AREA, severity=Severity.CRITICAL, title="The file store fails its connection test",
      remediation="Check FileSettings: the local directory's permissions and free space, or the S3 bucket, "
                  "credentials and endpoint. Uploads and previews fail until it works.", docs=docs.ENVIRONMENT)
def filestore_unreachable(inputs: RuleInputs) -> Check:
    probes = inputs.probes.value or {}
    if "file_store" in probes:
        probe = need(inputs.probes)["file_store"]
        detail = f": {probe.error}" if probe.error else ""
        return check(probe.status == "FAIL", f"file store test {probe.status}{detail}", "OK")
    status = need(inputs.server_status)
    value = status.get("filestore_status")
    if value is None:
        raise MissingInput("the ping did not report filestore_status")
    return check(value != "OK", f"filestore_status {value}", "OK")


@rule("FILESTORE_LOCAL_IN_CLUSTER", area=AREA, severity=Severity.CRITICAL,
      title="A cluster stores files in a relative local directory",
      remediation="Use S3-compatible storage, or a shared network file system mounted at the same absolute path on "
                  "every node.", docs=docs.HIGH_AVAILABILITY)
def filestore_local_relative(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if not _clustered(config) or setting(config, "FileSettings.DriverName") != "local":
        return not_applicable("not a cluster with local file storage")
    directory = setting(config, "FileSettings.Directory")
    return check(not str(directory).startswith("/"), f"Directory = {directory}", "an absolute, shared path or S3")


@rule("FILESTORE_LOCAL_IN_CLUSTER_VERIFY", area=AREA, severity=Severity.WARNING,
      title="A cluster stores files on a local path: verify it is shared",
      remediation="Make sure the directory is one shared mount on every node, or move to S3-compatible storage.",
      docs=docs.HIGH_AVAILABILITY)
def filestore_local_absolute(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if not _clustered(config) or setting(config, "FileSettings.DriverName") != "local":
        return not_applicable("not a cluster with local file storage")
    directory = setting(config, "FileSettings.Directory")
    return check(str(directory).startswith("/"), f"Directory = {directory}", "S3-compatible storage")


@rule("FILESTORE_S3_NO_BUCKET", area=AREA, severity=Severity.CRITICAL, title="S3 file storage has no bucket",
      remediation="Set FileSettings.AmazonS3Bucket to the bucket Mattermost should use.", docs=docs.ENVIRONMENT)
def s3_no_bucket(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if setting(config, "FileSettings.DriverName") != "amazons3":
        return not_applicable("files are not stored in S3")
    bucket = setting(config, "FileSettings.AmazonS3Bucket")
    return check(not bucket, f"AmazonS3Bucket = {bucket!r}", "a bucket name")


@rule("FILESTORE_S3_SSL_OFF", area=AREA, severity=Severity.WARNING, title="S3 traffic is not encrypted",
      remediation="Set FileSettings.AmazonS3SSL to true so files travel over TLS.", docs=docs.ENVIRONMENT)
def s3_ssl_off(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if setting(config, "FileSettings.DriverName") != "amazons3":
        return not_applicable("files are not stored in S3")
    ssl = setting(config, "FileSettings.AmazonS3SSL")
    return check(not ssl, f"AmazonS3SSL = {ssl}", "true")


@rule("RUNNING_AS_ROOT", area=AREA, severity=Severity.WARNING, title="Mattermost runs as root",
      remediation="Run the mattermost service as an unprivileged user that owns only its own directories.",
      docs=docs.SECURITY)
def running_as_root(inputs: RuleInputs) -> Check:
    status = need(inputs.server_status)
    value = status.get("root_status")
    if value is None:
        raise MissingInput("the ping did not report root_status (needs a system admin token)")
    return check(bool(value), "running as root" if value else "not running as root", "an unprivileged user")


@rule("ENV_UNSUPPORTED_OS", area=AREA, severity=Severity.CRITICAL, title="A node runs on an unsupported OS",
      remediation="Mattermost server is supported on Linux only; move the node to a supported Linux distribution.",
      docs=docs.REQUIREMENTS)
def unsupported_os(inputs: RuleInputs) -> list[Check]:
    nodes = need(inputs.nodes)
    known = [n for n in nodes if n.os]
    if not known:
        raise MissingInput("the nodes' operating systems are only reported in a support packet")
    return [check(n.os.lower() != "linux", f"OS {n.os}", "linux", subject=n.hostname) for n in known]


@rule("BIND_PRIVILEGED_PORT", area=AREA, severity=Severity.WARNING, title="Mattermost listens on a privileged port",
      remediation="Listen on an unprivileged port (8065) behind a reverse proxy instead of giving the binary extra "
                  "privileges.", docs=docs.ENVIRONMENT)
def privileged_port(inputs: RuleInputs) -> Check:
    address = str(setting(need(inputs.config), "ServiceSettings.ListenAddress"))
    port = number(address.rsplit(":", 1)[-1])
    if port is None:
        raise MissingInput(f"ListenAddress {address!r} has no port")
    return check(port < 1024, f"ListenAddress = {address}", "port 1024 or above")


@rule("NODE_FD_EXHAUSTION", area=AREA, severity=Severity.CRITICAL, title="A node is close to its open-file limit",
      remediation="Raise the service's open-file limit (LimitNOFILE=49152 or more) and look for connection leaks.",
      docs=docs.REQUIREMENTS)
def fd_exhaustion(inputs: RuleInputs) -> list[Check]:
    nodes = need(inputs.nodes)
    known = [n for n in nodes if n.open_fds is not None and n.max_fds]
    if not known:
        raise MissingInput("open file descriptors per node were not reported (Prometheus or a v12 support packet "
                           "reports them)")
    return [check(n.open_fds / n.max_fds >= 0.9, f"{n.open_fds:,} of {n.max_fds:,} file descriptors open",
                  "below 90% of the limit", subject=n.hostname) for n in known]


@rule("LOG_DEBUG_PROD", area=AREA, severity=Severity.WARNING, title="The log file is at debug level",
      remediation="Set LogSettings.FileLevel to INFO outside of an investigation: debug logging costs disk and CPU.",
      docs=docs.ENVIRONMENT)
def log_debug(inputs: RuleInputs) -> Check:
    level = str(setting(need(inputs.config), "LogSettings.FileLevel"))
    return check(level.upper() in ("DEBUG", "TRACE"), f"FileLevel = {level}", "INFO or WARN")


@rule("LOG_FILE_OFF", area=AREA, severity=Severity.WARNING, title="Logging to file is off",
      remediation="Set LogSettings.EnableFile to true: support packets and investigations need mattermost.log.",
      docs=docs.ENVIRONMENT)
def log_file_off(inputs: RuleInputs) -> Check:
    enabled = setting(need(inputs.config), "LogSettings.EnableFile")
    return check(not enabled, f"EnableFile = {enabled}", "true")


@rule("METRICS_OFF", area=AREA, severity=Severity.INFO, title="Performance monitoring is off",
      remediation="Enable MetricsSettings.Enable (Enterprise) and scrape :8067/metrics with Prometheus.",
      docs=docs.MONITORING)
def metrics_off(inputs: RuleInputs) -> Check:
    enabled = setting(need(inputs.config), "MetricsSettings.Enable")
    return check(not enabled, f"MetricsSettings.Enable = {enabled}", "true")


@rule("SESSION_LENGTH_DEFAULT", area=AREA, severity=Severity.INFO,
      title="Mobile session length is still the 30-day default",
      remediation="Choose session lengths that match your security policy (ServiceSettings.SessionLength*).",
      docs=docs.ENVIRONMENT)
def session_length(inputs: RuleInputs) -> Check:
    hours = setting(need(inputs.config), "ServiceSettings.SessionLengthMobileInHours")
    return check(number(hours) == 720, f"SessionLengthMobileInHours = {hours}", "a value chosen for your policy")
