"""Benchmark: building support packets (targets: demo packet <= 5 s; a 1 GiB log inside the window with peak
RSS <= 200 MB and a build time at most 2x `gzip -6` on the same file).

The 1 GiB build runs in a child process so its peak RSS is its own. Prints progress lines, then one JSON
object on the last line.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project root goes on sys.path first, so these imports come after it.
from bench.packet_logs import START, write_log  # noqa: E402
from collectors.runner import run_async  # noqa: E402
from packet.builder import PacketRequest, build_packet  # noqa: E402
from packet.form import PacketForm  # noqa: E402
from packet.gather import gather  # noqa: E402
from settings import EnvironmentSettings  # noqa: E402
from simulator.demo import start_demo, start_identity_provider  # noqa: E402


def demo_packet(folder: Path) -> float:
    idp = start_identity_provider()
    demo = start_demo("healthy", idp)
    try:
        env = demo.environment(EnvironmentSettings(name="production", label="Demo production",
                                                   demo_scenario="healthy"))
        started = time.perf_counter()
        got = run_async(gather(env, deadline_s=20, scratch=folder, test_site_and_smtp=False))
        result = build_packet(PacketRequest(
            environment=env.name, generated_by="bench", generated_by_email=None, form=PacketForm(issue="bench"),
            snapshot=got.snapshot, config=got.config, server_packet=got.server_packet, checks=tuple(got.checks),
            secrets={"mattermost.token": env.mattermost.token.get_secret_value()}), folder / "demo.zip")
        elapsed = time.perf_counter() - started
        assert result.ok, result.leaks
        return elapsed
    finally:
        demo.stop()
        idp.stop()


def build_big(log: str, minutes: int, out: str) -> None:
    """Child process: a packet whose log window covers all of `log`."""
    path = Path(log)
    form = PacketForm(issue="bench", started_at=START + timedelta(minutes=30),
                      ended_at=START + timedelta(minutes=minutes - 30))
    result = build_packet(PacketRequest(environment="bench", generated_by="bench", generated_by_email=None,
                                        form=form, log_files=(path,), max_log_bytes=2 * 1024**3,
                                        secrets={"canary": "never-in-this-log-7f3a9"}), Path(out))
    assert result.ok, result.leaks
    member = next(m for m in result.members if m.name == "mattermost.log")
    print(json.dumps({"log_member_bytes": member.size_after}))


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-packet-") as scratch:
        folder = Path(scratch)
        demo_s = demo_packet(folder)
        print(f"demo packet: {demo_s:.2f} s", flush=True)
        log = folder / "mattermost.log"
        size, minutes = write_log(log)
        print(f"wrote {size / 2**20:,.0f} MiB of log over {minutes} minutes", flush=True)
        started = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--child", str(log), str(minutes), str(folder / "big.zip")],
                               capture_output=True, text=True, check=True)
        build_s = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        member_bytes = json.loads(child.stdout.strip().splitlines()[-1])["log_member_bytes"]
        zipped = (folder / "big.zip").stat().st_size
        print(f"1 GiB packet: {build_s:.1f} s, peak RSS {peak_mb:.0f} MB, zip {zipped / 2**20:,.0f} MiB", flush=True)
        started = time.perf_counter()
        subprocess.run(f"gzip -6 -c '{log}' > /dev/null", shell=True, check=True)
        gzip_s = time.perf_counter() - started
        print(f"gzip -6 on the same file: {gzip_s:.1f} s", flush=True)
    return {"demo_packet_s": round(demo_s, 2), "log_bytes": size, "log_member_bytes": member_bytes,
            "build_s": round(build_s, 1), "build_mb_s": round(size / 2**20 / build_s, 1),
            "gzip6_s": round(gzip_s, 1), "gzip6_mb_s": round(size / 2**20 / gzip_s, 1),
            "ratio_to_gzip6": round(build_s / gzip_s, 2), "peak_rss_mb": round(peak_mb)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        build_big(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        print(json.dumps(main()))
