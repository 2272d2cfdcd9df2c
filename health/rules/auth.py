"""LDAP, SAML and session settings, and the live LDAP and SAML connection tests."""

from __future__ import annotations

from health.findings import Severity
from health.inputs import RuleInputs
from health.rules import docs
from health.rules.base import Check, MissingInput, check, need, not_applicable, number, probe_check, rule, setting

AREA = "Authentication"
EMAIL_IDS = {"mail", "email", "userprincipalname", "emailaddress"}


def _ldap(inputs: RuleInputs) -> dict | None:
    config = need(inputs.config)
    ldap = setting(config, "LdapSettings")
    return ldap if ldap.get("Enable") or ldap.get("EnableSync") else None


def _saml(inputs: RuleInputs) -> dict | None:
    saml = setting(need(inputs.config), "SamlSettings")
    return saml if saml.get("Enable") else None


OFF_LDAP = "AD/LDAP is disabled"
OFF_SAML = "SAML is disabled"


@rule("LDAP_PORT_TLS_MISMATCH", area=AREA, severity=Severity.WARNING, title="LDAP uses TLS on the plain port 389",
      remediation="Use port 636 with TLS, or STARTTLS on port 389.", docs=docs.LDAP)
def ldap_port_tls(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    port, security = number(ldap.get("LdapPort")), ldap.get("ConnectionSecurity")
    return check(port == 389 and security == "TLS", f"port {port}, security {security or 'none'}",
                 "TLS on 636 or STARTTLS on 389")


@rule("LDAP_PORT_PLAIN_MISMATCH", area=AREA, severity=Severity.WARNING,
      title="LDAP talks plain or STARTTLS to the TLS port 636",
      remediation="Port 636 expects TLS from the first byte: set ConnectionSecurity to TLS.", docs=docs.LDAP)
def ldap_port_plain(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    port, security = number(ldap.get("LdapPort")), ldap.get("ConnectionSecurity")
    return check(port == 636 and security in ("", "STARTTLS", None), f"port {port}, security {security or 'none'}",
                 "TLS on port 636")


@rule("LDAP_SKIP_CERT", area=AREA, severity=Severity.WARNING, title="LDAP skips certificate verification",
      remediation="Install the directory's CA on the Mattermost hosts and set SkipCertificateVerification to false.",
      docs=docs.LDAP)
def ldap_skip_cert(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    skip, security = bool(ldap.get("SkipCertificateVerification")), ldap.get("ConnectionSecurity")
    return check(skip and security in ("TLS", "STARTTLS"), f"SkipCertificateVerification = {skip} with {security}",
                 "certificates verified")


@rule("LDAP_QUERY_TIMEOUT_LOW", area=AREA, severity=Severity.INFO, title="LDAP query timeout is under 10 seconds",
      remediation="Raise LdapSettings.QueryTimeout so slow directories do not fail logins and syncs.", docs=docs.LDAP)
def ldap_query_timeout(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    timeout = number(ldap.get("QueryTimeout"))
    if timeout is None:
        raise MissingInput("LdapSettings.QueryTimeout is not set")
    return check(timeout < 10, f"QueryTimeout = {timeout} s", "at least 10 s")


@rule("LDAP_SYNC_INTERVAL_LOW", area=AREA, severity=Severity.WARNING,
      title="LDAP sync runs more often than every 10 minutes",
      remediation="Raise SyncIntervalMinutes: frequent syncs load both the directory and the database.", docs=docs.LDAP)
def ldap_sync_interval(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None or not ldap.get("EnableSync"):
        return not_applicable("LDAP sync is disabled")
    interval = number(ldap.get("SyncIntervalMinutes"))
    if interval is None:
        raise MissingInput("LdapSettings.SyncIntervalMinutes is not set")
    return check(interval < 10, f"SyncIntervalMinutes = {interval}", "10 or more")


@rule("LDAP_SYNC_NO_BASEDN", area=AREA, severity=Severity.CRITICAL, title="LDAP sync has no base DN",
      remediation="Set LdapSettings.BaseDN to the subtree that holds your users.", docs=docs.LDAP)
def ldap_no_basedn(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    base = ldap.get("BaseDN")
    return check(not base, f"BaseDN = {base!r}", "a base DN")


@rule("LDAP_ID_IS_EMAIL", area=AREA, severity=Severity.WARNING, title="LDAP identifies users by email address",
      remediation="Use an immutable attribute (objectGUID, entryUUID) as IdAttribute: emails change.", docs=docs.LDAP)
def ldap_id_email(inputs: RuleInputs) -> Check:
    ldap = _ldap(inputs)
    if ldap is None:
        return not_applicable(OFF_LDAP)
    attribute = str(ldap.get("IdAttribute") or "")
    return check(attribute.lower() in EMAIL_IDS, f"IdAttribute = {attribute}", "an immutable identifier")


@rule("LDAP_RECOMMENDED_AT_SCALE", area=AREA, severity=Severity.INFO,
      title="Over 100 users and no directory or single sign-on",
      remediation="Connect AD/LDAP or SAML so accounts are provisioned and removed with your directory.",
      docs=docs.LDAP)
def ldap_at_scale(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    usage = need(inputs.usage)
    if usage.registered_users is None:
        raise MissingInput("the number of registered users was not reported")
    ldap_on = setting(config, "LdapSettings.Enable")
    saml_on = setting(config, "SamlSettings.Enable")
    observed = f"{usage.registered_users:,} users; LDAP {'on' if ldap_on else 'off'}, SAML {'on' if saml_on else 'off'}"
    return check(not ldap_on and not saml_on and usage.registered_users > 100, observed, "LDAP or SAML from 100 users")


@rule("LDAP_PROBE_FAILED", area=AREA, severity=Severity.WARNING, title="The LDAP connection test fails",
      remediation="Check the LDAP server address, port, security and bind credentials; users cannot log in with "
                  "LDAP until it works.", docs=docs.LDAP)
def ldap_probe(inputs: RuleInputs) -> Check:
    return probe_check(inputs, "ldap", "LDAP connection test", "configure the ldap source, or import a support packet")


@rule("SAML_SIGNATURE_SHA1", area=AREA, severity=Severity.INFO, title="SAML requests are signed with SHA-1",
      remediation="Set SamlSettings.SignatureAlgorithm to RSAwithSHA256 or stronger.", docs=docs.SAML)
def saml_sha1(inputs: RuleInputs) -> Check:
    saml = _saml(inputs)
    if saml is None:
        return not_applicable(OFF_SAML)
    algorithm = saml.get("SignatureAlgorithm")
    return check(bool(saml.get("SignRequest")) and algorithm == "RSAwithSHA1", f"SignatureAlgorithm = {algorithm}",
                 "SHA-256 or stronger")


@rule("SAML_VERIFY_OFF", area=AREA, severity=Severity.WARNING, title="SAML responses are not verified",
      remediation="Set SamlSettings.Verify to true so forged assertions are rejected.", docs=docs.SAML)
def saml_verify(inputs: RuleInputs) -> Check:
    saml = _saml(inputs)
    if saml is None:
        return not_applicable(OFF_SAML)
    return check(not saml.get("Verify"), f"Verify = {saml.get('Verify')}", "true")


@rule("SAML_ENCRYPT_OFF", area=AREA, severity=Severity.INFO, title="SAML assertions are not encrypted",
      remediation="Set SamlSettings.Encrypt to true and give Mattermost its service-provider key pair.", docs=docs.SAML)
def saml_encrypt(inputs: RuleInputs) -> Check:
    saml = _saml(inputs)
    if saml is None:
        return not_applicable(OFF_SAML)
    return check(not saml.get("Encrypt"), f"Encrypt = {saml.get('Encrypt')}", "true")


@rule("SAML_ID_IS_EMAIL", area=AREA, severity=Severity.WARNING, title="SAML identifies users by email address",
      remediation="Map SamlSettings.IdAttribute to an immutable identifier from the IdP.", docs=docs.SAML)
def saml_id_email(inputs: RuleInputs) -> Check:
    saml = _saml(inputs)
    if saml is None:
        return not_applicable(OFF_SAML)
    attribute = str(saml.get("IdAttribute") or "")
    return check(not attribute or attribute.lower() in EMAIL_IDS, f"IdAttribute = {attribute or '(empty)'}",
                 "an immutable identifier")


@rule("SAML_ID_MUTABLE", area=AREA, severity=Severity.INFO, title="SAML identifies users by a name that can change",
      remediation="Prefer an immutable IdP identifier over usernames for SamlSettings.IdAttribute.", docs=docs.SAML)
def saml_id_mutable(inputs: RuleInputs) -> Check:
    saml = _saml(inputs)
    if saml is None:
        return not_applicable(OFF_SAML)
    attribute = str(saml.get("IdAttribute") or "")
    return check(attribute.lower() in ("username", "uid", "samaccountname"), f"IdAttribute = {attribute or '(empty)'}",
                 "an immutable identifier")


@rule("SAML_METADATA_UNREACHABLE", area=AREA, severity=Severity.WARNING, title="The IdP metadata cannot be fetched",
      remediation="Check the IdP metadata URL and that the Mattermost hosts can reach it.", docs=docs.SAML)
def saml_probe(inputs: RuleInputs) -> Check:
    return probe_check(inputs, "saml", "IdP metadata fetch", "configure the saml source, or import a support packet")


@rule("SESSION_EXTEND_OFF", area=AREA, severity=Severity.INFO, title="Sessions do not extend with activity",
      remediation="Enable ServiceSettings.ExtendSessionLengthWithActivity so active users are not logged out.",
      docs=docs.ENVIRONMENT)
def session_extend(inputs: RuleInputs) -> Check:
    value = setting(need(inputs.config), "ServiceSettings.ExtendSessionLengthWithActivity")
    return check(not value, f"ExtendSessionLengthWithActivity = {value}", "true")


@rule("MFA_DISABLED", area=AREA, severity=Severity.WARNING,
      title="Multi-factor authentication is off for password sign-in",
      remediation="Enable ServiceSettings.EnableMultifactorAuthentication so users who sign in with a password can "
                  "protect their accounts, then consider enforcing it.", docs=docs.AUTHENTICATION)
def mfa_disabled(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if setting(config, "SamlSettings.Enable"):
        return not_applicable("users sign in through SAML, where the IdP enforces MFA")
    by_password = setting(config, "EmailSettings.EnableSignInWithEmail") or setting(
        config, "EmailSettings.EnableSignInWithUsername")
    if not by_password and not _ldap(inputs):
        return not_applicable("nobody signs in with a password (email, username and AD/LDAP sign-in are off)")
    enabled = setting(config, "ServiceSettings.EnableMultifactorAuthentication")
    return check(not enabled, f"EnableMultifactorAuthentication = {enabled}", "true")


@rule("MFA_NOT_ENFORCED", area=AREA, severity=Severity.INFO, title="Multi-factor authentication is not enforced",
      remediation="Enforce MFA for email/password accounts (ServiceSettings.EnforceMultifactorAuthentication), "
                  "or rely on your IdP's MFA through SAML.", docs=docs.AUTHENTICATION)
def mfa(inputs: RuleInputs) -> Check:
    config = need(inputs.config)
    if setting(config, "SamlSettings.Enable"):
        return not_applicable("users sign in through SAML, where the IdP enforces MFA")
    if not setting(config, "ServiceSettings.EnableMultifactorAuthentication"):
        return not_applicable("MFA is off altogether (see MFA_DISABLED)")
    enforce = setting(config, "ServiceSettings.EnforceMultifactorAuthentication")
    return check(not enforce, f"EnforceMultifactorAuthentication = {enforce}", "true")


@rule("SAML_CERT_EXPIRING", area=AREA, severity=Severity.CRITICAL,
      title="The IdP's signing certificate expires within 30 days",
      remediation="Ask the IdP team for the new signing certificate, upload it in System Console > SAML 2.0 before "
                  "the old one expires, or every SAML login fails.", docs=docs.SAML)
def saml_cert(inputs: RuleInputs) -> Check:
    facts = need(inputs.saml)
    cert = facts.soonest_expiring
    if cert is None:
        raise MissingInput("the IdP metadata has no signing certificate")
    return check(cert.days_to_expiry <= 30, f"{cert.subject} expires {cert.not_after:%Y-%m-%d} "
                 f"({cert.days_to_expiry} days)", "more than 30 days left")


@rule("LDAP_CLEARTEXT_BIND", area=AREA, severity=Severity.WARNING,
      title="The LDAP bind password travels unencrypted",
      remediation="Use ldaps:// (TLS) or STARTTLS for the LDAP connection.", docs=docs.LDAP)
def ldap_cleartext(inputs: RuleInputs) -> Check:
    facts = need(inputs.ldap)
    if not facts.bind_dn:
        return not_applicable("anonymous bind: no password is sent")
    return check(facts.security == "none", f"{facts.url} with security {facts.security}", "TLS or STARTTLS")
