"""Benchmark: building support packets (targets: demo packet <= 5 s; a 1 GiB log inside the window with peak
RSS <= 150 MB and a build time at most 1.5x `gzip -6` on the same file, known secrets masked by value).

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

# The project root goes on sys.path first, so these imports come after it. The child that builds the 1 GiB
# packet imports only what build_packet needs, so its peak RSS is the packet's, not the demo simulator's.
from bench.packet_logs import START, write_log  # noqa: E402
from packet.builder import PacketRequest, build_packet  # noqa: E402
from packet.form import PacketForm  # noqa: E402


def demo_packet(folder: Path) -> float:
    from collectors.runner import run_async
    from demo.deployment import start_demo, start_identity_provider
    from packet.gather import gather
    from settings import EnvironmentSettings

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


def _secrets(path: Path, in_log: bool) -> dict[str, str]:
    """The canary alone; or, `in_log`, 20 secrets (a config's worth) of which one, a request id taken from
    the log, turns up about every 7 MB, so masking replaces and the gate searches the blocks around it."""
    secrets = {"canary": "never-in-this-log-7f3a9"}
    if in_log:
        secrets |= {f"config:Secret{n}": f"S3cret-value-{n:02d}-{'x' * n}" for n in range(18)}
        with path.open("rb") as handle:
            secrets["config:InLog"] = json.loads(handle.readline())["request_id"]
    return secrets


def build_big(log: str, minutes: int, out: str, in_log: bool = False) -> None:
    """Child process: a packet whose log window covers all of `log`."""
    path = Path(log)
    form = PacketForm(issue="bench", started_at=START + timedelta(minutes=30),
                      ended_at=START + timedelta(minutes=minutes - 30))
    result = build_packet(PacketRequest(environment="bench", generated_by="bench", generated_by_email=None,
                                        form=form, log_files=(path,), max_log_bytes=2 * 1024**3,
                                        secrets=_secrets(path, in_log)), Path(out))
    assert result.ok, result.leaks
    member = next(m for m in result.members if m.name == "mattermost.log")
    # VmHWM is this address space's own peak. ru_maxrss is not: Linux carries the peak of the process that
    # spawned the child (the parent, with the demo simulator loaded) over the exec.
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    print(json.dumps({"log_member_bytes": member.size_after, "vm_hwm_mb": int(status["VmHWM"].split()[0]) / 1024}))


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-packet-") as scratch:
        folder = Path(scratch)
        log = folder / "mattermost.log"
        size, minutes = write_log(log)
        print(f"wrote {size / 2**20:,.0f} MiB of log over {minutes} minutes", flush=True)
        started = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--child", str(log), str(minutes), str(folder / "big.zip")],
                               capture_output=True, text=True, check=True)
        build_s = time.perf_counter() - started
        # The big build runs before the demo, so this process is still small when it spawns the child.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        member_bytes, hwm_mb = figures["log_member_bytes"], figures["vm_hwm_mb"]
        zipped = (folder / "big.zip").stat().st_size
        print(f"1 GiB packet: {build_s:.1f} s, peak RSS {peak_mb:.0f} MB (VmHWM {hwm_mb:.0f} MB), "
              f"zip {zipped / 2**20:,.0f} MiB", flush=True)
        started = time.perf_counter()
        subprocess.run(f"gzip -6 -c '{log}' > /dev/null", shell=True, check=True)
        gzip_s = time.perf_counter() - started
        print(f"gzip -6 on the same file: {gzip_s:.1f} s", flush=True)
        started = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "--child-secrets", str(log), str(minutes),
                                str(folder / "big2.zip")], capture_output=True, text=True, check=True)
        secrets_s = time.perf_counter() - started
        secrets_hwm = json.loads(child.stdout.strip().splitlines()[-1])["vm_hwm_mb"]
        print(f"1 GiB packet, 20 known secrets, one in the log every ~7 MB: {secrets_s:.1f} s, "
              f"VmHWM {secrets_hwm:.0f} MB", flush=True)
        demo_s = demo_packet(folder)
        print(f"demo packet: {demo_s:.2f} s", flush=True)
    return {"demo_packet_s": round(demo_s, 2), "log_bytes": size, "log_member_bytes": member_bytes,
            "build_s": round(build_s, 1), "build_mb_s": round(size / 2**20 / build_s, 1),
            "gzip6_s": round(gzip_s, 1), "gzip6_mb_s": round(size / 2**20 / gzip_s, 1),
            "ratio_to_gzip6": round(build_s / gzip_s, 2), "peak_rss_mb": round(peak_mb),
            "child_vm_hwm_mb": round(hwm_mb), "build_secrets_in_log_s": round(secrets_s, 1),
            "ratio_secrets_in_log_to_gzip6": round(secrets_s / gzip_s, 2),
            "secrets_in_log_vm_hwm_mb": round(secrets_hwm)}


if __name__ == "__main__":
    if sys.argv[1:2] in (["--child"], ["--child-secrets"]):
        build_big(sys.argv[2], int(sys.argv[3]), sys.argv[4], in_log=sys.argv[1] == "--child-secrets")
    else:
        print(json.dumps(main()))
