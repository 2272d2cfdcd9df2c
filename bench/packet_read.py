"""Benchmark: reading support packets (targets: a 3-node HA packet with 3 x 300 MB logs in <= 10 s at <= 150 MB
peak RSS; every hostile packet ends within 10 s at <= 150 MB, without a crash).

Builds the packets in a temporary folder: the HA packet (nodes app-1.example.com to app-3.example.com, each with
diagnostics.yaml, sanitized_config.json and a 300 MB mattermost.log of Mattermost JSON lines of mixed levels), then
the hostile ones. Each is read by `parse_packet` in a child process of its own, so wall time and peak RSS (from
os.wait4) are that read's alone. Prints a line per packet, then one JSON object on the last line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from bench.packet_logs import write_minutes  # noqa: E402

LOG_BYTES = 300 * 1024**2
NODES = ("app-1.example.com", "app-2.example.com", "app-3.example.com")
TARGET_S, TARGET_MB = 10.0, 150


def _base_members() -> dict[str, bytes]:
    """The simulator's healthy packet without logs: realistic metadata, stats, jobs, plugins, diagnostics, config."""
    from simulator import build_scenario
    from simulator.server_config import build_config
    from simulator.support_packet import build_packet

    scenario = build_scenario("healthy")
    with zipfile.ZipFile(io.BytesIO(build_packet(scenario, build_config(scenario), include_logs=False))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2026, 11, 23, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_log(zf: zipfile.ZipFile, name: str, seed: int) -> None:
    with zf.open(_info(name), "w", force_zip64=True) as fh:
        write_minutes(fh, f"bench-packet-read-{seed}", variants=4, total=LOG_BYTES)


def _zip(path: Path, members: dict[str, bytes], logs: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(_info(name), content)
        for index, name in enumerate(logs):
            _write_log(zf, name, index)
    return path


def ha_packet(folder: Path, base: dict[str, bytes]) -> Path:
    members = {n: c for n, c in base.items() if not n.startswith(("mm-app-1/", "mm-app-2/"))}
    for node in NODES:
        members[f"{node}/diagnostics.yaml"] = base["mm-app-1/diagnostics.yaml"].replace(b"mm-app-1", node.encode())
        members[f"{node}/sanitized_config.json"] = base["mm-app-1/sanitized_config.json"]
    return _zip(folder / "ha.zip", members, tuple(f"{node}/mattermost.log" for node in NODES))


def _bomb(zf: zipfile.ZipFile, name: str, size: int) -> None:
    with zf.open(_info(name), "w", force_zip64=True) as fh:
        zeros = bytes(16 * 1024**2)
        for _ in range(size // len(zeros)):
            fh.write(zeros)


def hostile_packets(folder: Path, base: dict[str, bytes]) -> dict[str, Path]:
    top = {n: base[n] for n in ("metadata.yaml", "stats.yaml", "jobs.yaml", "plugins.json")}
    node = {"app-1.example.com/diagnostics.yaml": base["mm-app-1/diagnostics.yaml"],
            "app-1.example.com/sanitized_config.json": base["mm-app-1/sanitized_config.json"]}
    cases: dict[str, Callable[[Path], Path]] = {
        "brackets_100k_yaml": lambda p: _zip(p, {**top, **node, "app-1.example.com/diagnostics.yaml": b"[" * 100_000}),
        "deep_json_config": lambda p: _zip(p, {**top, **node, "app-1.example.com/sanitized_config.json":
                                               b'{"a":' * 100_000 + b"1" + b"}" * 100_000}),
        "yaml_alias_bomb": lambda p: _zip(p, {**top, **node, "app-1.example.com/diagnostics.yaml": b"\n".join(
            [b'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
            + [b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 9)) for i in range(1, 10)])}),
        "node_folders_100k": lambda p: _zip(p, {**top, **{
            f"app-{i}.example.com/{name}": content for i in range(100_000)
            for name, content in (("diagnostics.yaml", base["mm-app-1/diagnostics.yaml"]),
                                  ("sanitized_config.json", b'{"SqlSettings": {"DriverName": "postgres"}}'))}}),
        "only_dotdot_names": lambda p: _zip(p, {f"../{n}": c for n, c in {**top, **node}.items()}),
        "junk_files_2000": lambda p: _zip(p, {**top, **node, **{f"junk/{i:04d}.bin": os.urandom(512)
                                                               for i in range(2000)}}),
    }
    paths = {name: make(folder / f"{name}.zip") for name, make in cases.items()}
    bomb = folder / "zip_bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in {**top, **node}.items():
            zf.writestr(name, content)
        _bomb(zf, "stats2.yaml", 1024**3)
        _bomb(zf, "app-1.example.com/mattermost.log", 4 * 1024**3)
    paths["zip_bomb"] = bomb
    return paths


def _peak_mb() -> float:
    """This process's peak RSS since exec (ru_maxrss would include the parent's, copied at fork)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmHWM"].split()[0]) / 1024


def read_child(path: str) -> None:
    """Child process: parse the packet, print a summary with the time and peak RSS of the read."""
    from collectors.support_packet import PacketError, parse_packet

    started = time.perf_counter()
    try:
        facts = parse_packet(Path(path))
    except PacketError as exc:
        print(json.dumps({"parse_s": time.perf_counter() - started, "peak_mb": _peak_mb(),
                          "packet_error": str(exc)[:160]}))
        return
    print(json.dumps({"parse_s": round(time.perf_counter() - started, 2), "peak_mb": round(_peak_mb()),
                      "members": len(facts.members),
                      "nodes": len(facts.cluster.nodes), "unreadable": len(facts.unreadable),
                      "log_lines": sum(log.line_count for log in facts.logs),
                      "log_errors": sum(log.error_lines for log in facts.logs),
                      "first_unreadable": next(iter(facts.unreadable.values()), "")[:160]}))


def baseline_child() -> None:
    """Child process: only import the reader, for the RSS and time every read pays before it starts."""
    from collectors.support_packet import parse_packet  # noqa: F401

    print(json.dumps({"peak_mb": round(_peak_mb())}))


def measure(path: Path | None) -> tuple[float, float, dict[str, object]]:
    """(wall s, peak RSS MB, the child's summary) of reading `path` in a child process; the wall time includes
    starting Python and importing the reader (about 1 s here), the summary's parse_s does not."""
    started = time.perf_counter()
    args = ["--child", str(path)] if path is not None else ["--baseline"]
    child = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        summary: dict[str, object] = {"crash": f"exit {child.returncode}", "stderr": err.decode()[-300:]}
        return wall, usage.ru_maxrss / 1024, summary
    summary = json.loads(out.decode().strip().splitlines()[-1])
    return wall, float(summary.pop("peak_mb")), summary


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-packet-read-") as scratch:
        folder = Path(scratch)
        import_s, import_mb, _ = measure(None)
        print(f"importing the reader alone: {import_s:.2f} s, peak {import_mb:.0f} MB", flush=True)
        base = _base_members()
        started = time.perf_counter()
        ha = ha_packet(folder, base)
        print(f"built the HA packet ({ha.stat().st_size / 2**20:,.0f} MiB zipped, 3 x {LOG_BYTES // 2**20} MiB logs) "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        ha_s, ha_mb, ha_summary = measure(ha)
        print(f"ha_3x300mb: {ha_s:.2f} s, peak {ha_mb:.0f} MB, {ha_summary}", flush=True)
        started = time.perf_counter()
        hostile = hostile_packets(folder, base)
        print(f"built {len(hostile)} hostile packets in {time.perf_counter() - started:.1f} s", flush=True)
        results: dict[str, tuple[float, float, dict[str, object]]] = {}
        for name, path in hostile.items():
            results[name] = measure(path)
            wall, peak, summary = results[name]
            verdict = "ok" if wall <= TARGET_S and peak <= TARGET_MB and "crash" not in summary else "OVER"
            print(f"{name}: {wall:.2f} s, peak {peak:.0f} MB [{verdict}] {summary}", flush=True)
    crashes = sorted(name for name, (_, _, summary) in results.items() if "crash" in summary)
    slowest = max(results, key=lambda n: results[n][0])
    biggest = max(results, key=lambda n: results[n][1])
    return {"ha_3x300mb_read_s": round(ha_s, 2), "ha_3x300mb_parse_s": ha_summary.get("parse_s"),
            "ha_3x300mb_peak_mb": round(ha_mb), "import_only_s": round(import_s, 2),
            "import_only_peak_mb": round(import_mb), "ha_3x300mb_read_over_import_mb": round(ha_mb - import_mb),
            "ha_3x300mb_log_lines": ha_summary.get("log_lines"),
            "hostile_max_s": round(results[slowest][0], 2), "hostile_slowest": slowest,
            "hostile_max_peak_mb": round(results[biggest][1]), "hostile_biggest": biggest,
            "hostile_max_over_import_mb": round(results[biggest][1] - import_mb), "hostile_crashes": crashes,
            **{f"hostile_{name}_s": round(wall, 2) for name, (wall, _, _) in results.items()},
            **{f"hostile_{name}_peak_mb": round(peak) for name, (_, peak, _) in results.items()}}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        read_child(sys.argv[2])
    elif sys.argv[1:2] == ["--baseline"]:
        baseline_child()
    else:
        print(json.dumps(main()))
