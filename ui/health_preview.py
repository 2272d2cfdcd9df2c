"""The health page drawn by the server, on screen as soon as the HTML arrives, until the app has drawn its own.

A new visitor's browser downloads and compiles about 3 MB of Streamlit's JavaScript, then loads each kind of
widget's code, before the app draws anything: 1.3 to 1.5 s on this machine, most of it the browser's own work.
Yet what the health page opens with is known when the request arrives: the last stored snapshot. So GET / and
GET /health (serve.py routes them here) answer Streamlit's own index.html with that snapshot drawn into it in
plain HTML and CSS: the heading, its age, the verdict and its tiles, the sources and the most urgent findings,
in the page's own words (health/stored_view.py) and places. A small inline script removes it the moment the app
draws its first element in the main area, or after HAND_OFF_LIMIT_S if the app never does; it is not interactive
(the app is, a moment later).

It is drawn only for a visitor the page would show it to: in a demo environment, or with a sign-in cookie whose
session stands and Mattermost confirmed within RECHECK_AFTER (ui/web_sessions.py); it never waits on Mattermost.
Anyone else, and any failure here, gets index.html unchanged. The answer is never cached: it carries health data.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from datetime import datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from collectors.base import SourceStatus
from demo.deployment import banner_sentence, started_demo
from health import alert_outbox, history, overview, stored_view
from health.findings import Severity
from health.history import StoredSnapshot
from health.run_sources import source_labels
from settings import EnvironmentSettings, Settings, SettingsError
from store import Store, StoreError
from store.utc import utc_now
from ui import web_sessions

log = logging.getLogger("mmdash.preview")
PATHS = ("/", "/health")
HAND_OFF_LIMIT_S = 20
PAGE_TITLE = "Mattermost diagnostics"
ROOT_DIV = '<div id="root"></div>'
APP_ASSET = re.compile(r'<link rel="(?:stylesheet|modulepreload)"[^>]*>|<script type="module"[^>]*></script>')
ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
BOX_STYLES = {"critical problems": "error", "needs attention": "warning", "healthy": "success",
              "not enough data": "warning"}
LINE_STYLES = {SourceStatus.DEGRADED: "warning", SourceStatus.FORBIDDEN: "warning", SourceStatus.ERROR: "error"}


def routes() -> list[Route]:
    return [Route(path, _health_route, methods=["GET", "HEAD"]) for path in PATHS]


async def _health_route(request: Request) -> Response:
    page = await run_in_threadpool(page_for, request.query_params.get("env"), request.cookies)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def page_for(env_name: str | None, cookies: dict[str, str]) -> str:
    """index.html, with the health preview in it when this visitor may see it and a snapshot is stored."""
    index = streamlit_index()
    try:
        settings, store = web_sessions.resources()
        env = settings.environment(env_name if env_name in settings.environments else settings.default_environment)
        username = _visitor(settings, store, env, cookies)
        stored = history.latest(store, env.name) if username is not None else None
        if stored is None:
            return index
        preview = render(settings, store, env, stored, username, utc_now())
    except (SettingsError, StoreError) as exc:
        log.info("no health preview: %s", exc)  # the app itself says so, in full, a moment later
        return index
    except Exception:  # a preview is never worth a page that does not load
        log.exception("the health preview failed; serving the page without it")
        return index
    return with_preview(index, preview)


def with_preview(index: str, preview: str) -> str:
    """index.html with the preview before the app's root, and the app's own stylesheet and scripts taken out of the
    head and added by _hand_off() once the preview has painted. Left in the head, they cost the first paint about
    0.3 s (the browser compiles the 3 MB of scripts while it would paint; even plain preloads of them delay it);
    added after, they start about 0.2 s later, so the interactive page comes that much later (measured in
    bench/health_page.py)."""
    assets = [dict(ATTRIBUTE.findall(tag)) | {"tag": tag.split()[0][1:]} for tag in APP_ASSET.findall(index)]
    page = APP_ASSET.sub("", index).replace("<title>Streamlit</title>", f"<title>{PAGE_TITLE}</title>", 1)
    return page.replace(ROOT_DIV, preview + ROOT_DIV + _hand_off(assets), 1)


def _visitor(settings: Settings, store: Store, env: EnvironmentSettings, cookies: dict[str, str]) -> str | None:
    """Who the page would show the health page to, without asking Mattermost: None for anyone else."""
    if env.is_demo:
        demo = started_demo(settings)
        return demo.simulator(env.name).admin_username if demo is not None else None
    cookie = cookies.get(web_sessions.cookie_name(env.name))
    if cookie and web_sessions.vouches(store, web_sessions.keys_for(settings), env, cookie, now=utc_now()):
        return ""
    return None


@functools.cache
def streamlit_index() -> str:
    from streamlit import file_util

    return (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")


# -- drawing ------------------------------------------------------------------------------------------------


def _text(markdown: str) -> str:
    """Escaped text with the page's two inline marks: **bold** and `code`."""
    escaped = html.escape(markdown)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


def _box(style: str, markdown: str) -> str:
    return f'<div class="pv-box pv-{style}">{_text(markdown)}</div>'


def _caption(markdown: str) -> str:
    return f'<p class="pv-caption">{_text(markdown)}</p>'


def _tiles(tiles: list[tuple[str, str]]) -> str:
    cells = "".join(f'<div class="pv-tile"><div class="pv-label">{html.escape(label)}</div>'
                    f'<div class="pv-value">{html.escape(value)}</div></div>' for label, value in tiles)
    return f'<div class="pv-tiles">{cells}</div>'


def render(settings: Settings, store: Store, env: EnvironmentSettings, stored: StoredSnapshot, username: str,
           now: datetime) -> str:
    """The preview's HTML: what pages/health.py's default view draws first, from the same snapshot."""
    parts: list[str] = []
    demo = started_demo(settings) if env.is_demo else None
    if demo is not None:
        parts.append(_box("info", banner_sentence(username)))
        if demo.parts:
            parts.append(f'<div class="pv-expander">{html.escape(demo.started_line())}</div>')
    parts.append(f'<div class="pv-heading"><h1>Health · {html.escape(env.label)}</h1>'
                 '<span class="pv-button">Collect now</span></div>')
    fresh = stored_view.freshness(stored, now, settings.watch_interval(env))
    parts.append(_caption(fresh.sentence))
    if fresh.stale and fresh.warning:
        parts.append(_box("warning", fresh.warning))
    delivery = alert_outbox.delivery_sentence(store, env)
    if delivery is not None:
        parts.append(_box("error", delivery[1]) if delivery[0] else _caption(delivery[1]))
    findings = stored_view.findings_of(stored)
    result = stored_view.verdict_of(stored, findings)
    parts.append(_box(BOX_STYLES.get(result.label, "warning"), stored_view.verdict_sentence(result)))
    parts.append(_tiles([("Score", "n/a" if result.score is None else f"{result.score}/100")]
                        + [(f"{sev.value.capitalize()} firing", str(result.firing[sev])) for sev in Severity]
                        + [("Unknown", str(result.unknown))]))
    labels = source_labels()
    summary = overview.source_summary(stored_view.sources_snapshot(stored, labels), labels)
    parts.extend(_box(LINE_STYLES.get(line_result.status, "info"), line) for line_result, line in summary.problems)
    if summary.collected:
        parts.append(_box("success", summary.collected))
    parts.append('<div class="pv-views">' + "".join(
        f'<span class="pv-view{" pv-chosen" if view == stored_view.VIEWS[0] else ""}">{html.escape(view)}</span>'
        for view in stored_view.VIEWS) + "</div>")
    parts.append(_overview(stored, findings))
    return (f'<div id="mmdash-preview" aria-busy="true">{_style()}'
            '<div class="pv-sidebar"><p class="pv-caption">Loading the dashboard...</p></div>'
            f'<main class="pv-main">{"".join(parts)}</main></div>')


def _overview(stored: StoredSnapshot, findings: list) -> str:
    server = (stored.report or {}).get("server") or {}
    caption = stored_view.server_caption(server)
    parts = [_caption(caption) if caption else _box("info", stored_view.NO_SERVER_LINE)]
    figures, missing = stored_view.figure_tiles(stored.figures)
    shown = (stored_view.server_tiles(server) if server else []) + figures
    parts.append(_tiles([(tile.label, tile.value) for tile in shown]))
    if missing:
        parts.append(_caption(f"Not collected in this run: {', '.join(missing)}."))
    urgent, more = stored_view.most_urgent(findings)
    if urgent:
        parts.append("<h3>Most urgent</h3>")
        for finding in urgent:
            subject = f" ({finding.subject})" if finding.subject else ""
            parts.append(f'<p><span class="pv-badge pv-{finding.severity.value}">{finding.severity.value}</span> '
                         f"<strong>{html.escape(finding.title)}</strong>{html.escape(subject)}: "
                         f"{html.escape(str(finding.observed))}</p>")
        if more:
            parts.append(_caption(more))
    parts.append(_caption(stored_view.LIVE_VIEWS_NOTE))
    return "".join(parts)


@functools.cache
def _style() -> str:
    # Streamlit's own font file, named (with its hash) in the index.html it ships, so the hand-off does not reflow.
    font = re.search(r'href="(\./static/media/SourceSansVF-Upright[^"]+\.woff2)"', streamlit_index())
    face = (f"@font-face{{font-family:'mmdash-preview';src:url('{font.group(1)}') format('woff2');"
            "font-weight:200 900;font-display:swap;}") if font else ""
    return f"<style>{face}{_CSS}</style>"


# Streamlit's light theme, wide layout: its sizes, colours and alert tints, so the hand-off is not a jump.
_CSS = """
#mmdash-preview{position:fixed;inset:0;z-index:999990;display:flex;background:#fff;color:#31333f;overflow:hidden;
  font-family:'mmdash-preview','Source Sans Pro',sans-serif;font-size:16px;line-height:1.6}
#mmdash-preview .pv-sidebar{flex:0 0 300px;background:#f0f2f6;padding:6rem 1.5rem;box-sizing:border-box}
#mmdash-preview .pv-main{flex:1;padding:6rem 5rem 2rem;overflow:hidden}
#mmdash-preview h1{font-size:2.75rem;font-weight:700;line-height:1.2;margin:0;padding:1.25rem 0 1rem}
#mmdash-preview h3{font-size:1.5rem;font-weight:600;margin:1.5rem 0 .5rem;padding-bottom:.5rem;
  border-bottom:2px solid rgba(49,51,63,.2)}
#mmdash-preview p{margin:0 0 1rem}
#mmdash-preview .pv-heading{display:flex;align-items:flex-end;justify-content:space-between;gap:1rem}
#mmdash-preview .pv-button{border:1px solid rgba(49,51,63,.2);border-radius:.5rem;padding:.25rem .75rem;
  margin-bottom:1rem;min-width:10rem;text-align:center;color:rgba(49,51,63,.6)}
#mmdash-preview .pv-caption{font-size:14px;color:rgba(49,51,63,.6)}
#mmdash-preview .pv-box{border-radius:.5rem;padding:1rem;margin:0 0 1rem}
#mmdash-preview .pv-info{background:rgba(28,131,225,.1);color:#004280}
#mmdash-preview .pv-success{background:rgba(33,195,84,.1);color:#177233}
#mmdash-preview .pv-warning{background:rgba(255,193,7,.1);color:#926c05}
#mmdash-preview .pv-error{background:rgba(255,43,43,.09);color:#7d353b}
#mmdash-preview .pv-expander{border:1px solid rgba(49,51,63,.2);border-radius:.5rem;padding:.5rem 1rem;
  margin:0 0 1rem;font-size:14px}
#mmdash-preview .pv-tiles{display:flex;flex-wrap:wrap;gap:1rem;margin:0 0 1rem}
#mmdash-preview .pv-tile{flex:1 1 auto;min-width:8rem;border:1px solid rgba(49,51,63,.2);border-radius:.5rem;
  padding:1rem;white-space:nowrap}
#mmdash-preview .pv-label{font-size:14px}
#mmdash-preview .pv-value{font-size:2.25rem;line-height:1.4}
#mmdash-preview .pv-views{display:flex;flex-wrap:wrap;margin:0 0 1rem}
#mmdash-preview .pv-view{border:1px solid rgba(49,51,63,.2);padding:.25rem .75rem;font-size:14px;margin-left:-1px}
#mmdash-preview .pv-chosen{background:rgba(28,131,225,.1);border-color:#1c83e1}
#mmdash-preview .pv-badge{border-radius:.25rem;padding:0 .35rem;font-size:14px}
#mmdash-preview .pv-critical{background:rgba(255,43,43,.09);color:#bd4043}
#mmdash-preview .pv-warning.pv-badge{color:#e2660c}
#mmdash-preview .pv-info.pv-badge{color:#1c83e1}
#mmdash-preview code{font-size:.875em;background:rgba(49,51,63,.05);padding:.1em .25em;border-radius:.25rem}
"""


def _script_json(value: object) -> str:
    return json.dumps(value).replace("</", "<\\/")  # never closes the script it sits in


def _hand_off(assets: list[dict[str, str]]) -> str:
    """Load the app once the preview has painted (the stylesheet before the scripts, as the head would; all of them
    crossorigin, as Streamlit's index.html has them), and let
    the app's first element in its main area replace the preview: both never show at once."""
    return ("<script>(function(){var p=document.getElementById('mmdash-preview'),h=document.head,"
            f"a={_script_json(assets)};"
            "function add(x){var e=document.createElement(x.tag);for(var k in x)if(k!=='tag')e.setAttribute(k,x[k]);"
            "e.crossOrigin='';h.appendChild(e);return e;}"
            "function load(){var css=a.filter(function(x){return x.rel==='stylesheet';}).map(add),"
            "scripts=a.filter(function(x){return x.tag==='script';}),n=css.length;"
            "a.filter(function(x){return x.rel==='modulepreload';}).forEach(add);"
            "function go(){if(--n<=0)scripts.forEach(add);}if(!n)go();"
            "css.forEach(function(e){e.onload=e.onerror=go;});}"
            "requestAnimationFrame(function(){setTimeout(load,0);});"
            "function done(){if(p){p.remove();p=null;o.disconnect();}}"
            "var o=new MutationObserver(function(){if(document.querySelector("
            "'#root [data-testid=\"stMain\"] [data-testid=\"stElementContainer\"]'))done();});"
            "o.observe(document.getElementById('root'),{childList:true,subtree:true});"
            f"setTimeout(done,{HAND_OFF_LIMIT_S * 1000});}})();</script>")
