"""README.md of a packet: what support reads first (the form, the verdict, the findings, the tests)."""

from __future__ import annotations

from typing import Any


def render_readme(summary: dict[str, Any]) -> str:
    form = summary["form"]
    who = summary["generated_by"]
    users = form["users_affected"] if form["users_affected"] is not None else "not given"
    productivity = form["productivity_affected_percent"]
    productivity = f"{productivity}%" if productivity is not None else "not given"
    high_availability = {True: "yes", False: "no", None: "not given"}[form["high_availability"]]
    database = form["database_other"] if form["database_type"] == "Other" else form["database_type"]
    lines = [
        f"# Support packet: {summary['environment']}",
        "",
        f"Generated {summary['generated_at']} by {who['username']}" + (f" <{who['email']}>" if who["email"] else ""),
        "",
        "## The issue",
        "",
        form["issue"] or "(not described)",
        "",
        f"- Users affected: {users}",
        f"- Productivity affected: {productivity}",
        f"- Component: {form['component']}",
        f"- Environment: {form['environment_os'] or 'not given'}, high availability: {high_availability}",
        f"- Database: {database} {form['database_version']}".rstrip(),
        f"- Started: {form['started_at'] or 'not given'}; ended: {form['ended_at'] or 'not given'}",
        "",
        "### Steps to reproduce",
        "",
        form["steps_to_reproduce"] or "(none given)",
        "",
    ]
    deployment = summary.get("deployment") or {}
    if deployment:
        lic = deployment.get("license") or {}
        lines += ["## Deployment", "",
                  f"- {deployment.get('site_name') or 'Mattermost'} at {deployment.get('site_url') or 'unknown URL'}",
                  f"- {deployment.get('edition')} {deployment.get('version')} (build {deployment.get('build_number')}, "
                  f"hash {deployment.get('build_hash')})",
                  f"- Users: {deployment.get('users')}; license: " + (
                      f"{lic.get('sku')} for {lic.get('issued_to') or lic.get('company')}, {lic.get('seats')} seats, "
                      f"expires {lic.get('expires_at')}" if lic else "none"),
                  f"- Server OS: {deployment.get('server_os') or 'unknown'}; database: "
                  f"{(deployment.get('database') or {}).get('version') or 'not connected'}",
                  ""]
    if "verdict" in summary:
        lines += ["## Health", "", summary["verdict"]["headline"], ""]
        for finding in summary.get("findings", []):
            if finding["state"] != "firing":
                continue
            subject = f" [{finding['subject']}]" if finding["subject"] else ""
            lines.append(f"- **{finding['severity']}** {finding['code']}{subject}: {finding['title']} "
                         f"(observed {finding['observed']}; evidence: {finding['evidence']})")
        lines.append("")
    if summary["checks"]:
        lines += ["## Connection tests", ""]
        lines += [f"- {'OK' if c['ok'] else 'FAILED'}: {c['name']}: {c['detail']}" for c in summary["checks"]]
        lines.append("")
    if summary["not_collected"]:
        lines += ["## Not collected", ""]
        lines += [f"- {member}: {why}" for member, why in summary["not_collected"].items()]
        lines.append("")
    lines += ["## Files", "", "`manifest.json` lists every file with its sha256, sizes before and after redaction "
              "and truncation, and redaction counts; `redaction_report.json` has the counts by rule. Secret values "
              "are never written anywhere.", ""]
    return "\n".join(lines)
