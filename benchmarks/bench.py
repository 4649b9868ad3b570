"""DECNET benchmark: the engine against plain Docker, on a test LAN it makes itself.

    .venv/bin/python benchmarks/bench.py [--smoke] [--rounds N] [--write BENCHMARKS.md]

Run as root with dockerd up and the base image built (scripts/setup.sh does both). Every
figure is the median of several runs, each alternating with its baseline where there is one.
Traffic goes only to the benchmark's own veth LAN (10.213.4.0/24, attacker namespace dn-bnns)."""
import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAN = {"DECNET_LAN_PARENT": "dn-bnlan0", "DECNET_LAN_NS": "dn-bnns", "DECNET_LAN_ATTACKER": "10.213.4.2/24",
       "DECNET_LAN_PEER": "dn-bnatk0"}
STATE = Path(tempfile.mkdtemp(prefix="decnet-bench-"))
ENV = {**os.environ, **LAN, "DECNET_STATE_DIR": str(STATE)}
INV = [sys.executable, "-m", "invoke", "--search-root", str(REPO)]
GOALS = {"warm": 1.25, "dry_wall": 1.2, "dry_rss": 80, "status": 1.5, "teardown_decky": 4.0}


def run(cmd, env=None, check=True, quiet=True):
    result = subprocess.run(cmd, env=env or ENV, capture_output=quiet, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(cmd, env=None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of one command, measured on that child alone."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{proc.stderr.read()}")
    return elapsed, usage.ru_maxrss


def config(n: int, name: str = "bench") -> Path:
    deckies = "".join(f"  - {{name: d{i:03d}, ip: 10.213.4.{10 + i}, services: [ssh, http]}}\n" for i in range(n))
    path = STATE / f"{name}-{n}.yml"
    path.write_text(f"name: {name}\nnetwork: {{interface: dn-bnlan0, subnet: 10.213.4.0/24, gateway: 10.213.4.1, "
                    f"host_ip: 10.213.4.3}}\ndeckies:\n{deckies}")
    return path


def big_config(n: int) -> Path:
    kinds = [["ssh"], ["ssh", "http"], ["ssh", "http", "ftp"]]
    deckies = "".join(f"  - {{name: d{i}, services: [{', '.join(kinds[i % 3])}]}}\n" for i in range(n))
    path = STATE / f"dry-{n}.yml"
    path.write_text("name: big\nnetwork: {interface: dn-bnlan0, subnet: 10.214.0.0/16, gateway: 10.214.0.1, "
                    f"host_ip: 10.214.0.2, pool: 10.214.4.0/22}}\ndeckies:\n{deckies}")
    return path


def deploy(n):
    return timed([*INV, "deploy", "--config", str(config(n)), "--allow-taken"])[0]


def teardown():
    run([*INV, "teardown"])


def median(values):
    return statistics.median(values)


# --- a counting proxy in front of the Docker socket: API calls per command -------------------

class CountingProxy:
    def __init__(self):
        self.path = str(STATE / "docker.sock")
        self.requests = 0
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.server.accept()
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect("/var/run/docker.sock")
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src, dst, count):
        try:
            while data := src.recv(65536):
                if count:
                    self.requests += sum(data.count(f"{verb} /".encode()) for verb in ("GET", "POST", "DELETE", "HEAD"))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            dst.close()


# --- the figures --------------------------------------------------------------------------

def warm_deploy(n: int, rounds: int) -> dict:
    """Our deploy from nothing running (images present) vs plain `docker compose up -d` of the
    same generated file with the network already there; alternating, `rounds` times each."""
    ours, plain = [], []
    compose = STATE / "decnet-compose.yml"
    deploy(n)   # warm the images
    teardown()
    for i in range(rounds):
        for which in (("ours", "plain") if i % 2 == 0 else ("plain", "ours")):
            if which == "ours":
                ours.append(deploy(n))
                teardown()
            else:
                deploy(n)
                run(["docker", "compose", "-p", "bench", "-f", str(compose), "down", "-t", "1"])
                plain.append(timed(["docker", "compose", "-p", "bench", "-f", str(compose), "up", "-d"])[0])
                teardown()
    return {"ours": median(ours), "plain": median(plain), "ratio": median(ours) / median(plain)}


def dry_run(n: int, rounds: int) -> dict:
    path = big_config(n)
    samples = [timed([*INV, "deploy", "--dry-run", "--config", str(path)]) for _ in range(rounds)]
    return {"wall": median(s[0] for s in samples), "rss_mb": median(s[1] for s in samples) / 1024}


def status_and_teardown(n: int, rounds: int, proxy: CountingProxy) -> dict:
    deploy(n)
    walls, calls = [], []
    for _ in range(rounds):
        before = proxy.requests
        walls.append(timed([*INV, "status", "--json"], env={**ENV, "DOCKER_HOST": f"unix://{proxy.path}"})[0])
        calls.append(proxy.requests - before)
    decky_walls = []
    for i in range(min(rounds, n)):
        decky_walls.append(timed([*INV, "teardown", "--decky", f"d{i:03d}"])[0])
    teardown()
    return {"status": median(walls), "api_calls": max(calls), "teardown_decky": median(decky_walls)}


def answers(ip: str) -> bool:
    probe = "import socket,sys; s=socket.create_connection((sys.argv[1],22),5); print(s.recv(64).decode())"
    result = run(["ip", "netns", "exec", LAN["DECNET_LAN_NS"], sys.executable, "-c", probe, ip], check=False)
    return result.stdout.startswith("SSH-2.0-")


def scale(n: int) -> dict:
    wall = deploy(n)
    reached = sum(answers(f"10.213.4.{10 + i}") for i in range(n))
    stats = run(["docker", "stats", "--no-stream", "--format", "{{json .}}"]).stdout.splitlines()
    mem = {"base": [], "service": []}
    for line in stats:
        row = json.loads(line)
        if not row["Name"].startswith("bench-"):
            continue
        used = row["MemUsage"].split("/")[0].strip()
        value = float(used[:-3]) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[used[-3:]]
        mem["base" if row["Name"].count("-") == 2 else "service"].append(value)
    teardown()
    return {"deckies": n, "wall": wall, "answering": reached, "base_mb": median(mem["base"]),
            "service_mb": median(mem["service"]),
            "per_decky_mb": (sum(mem["base"]) + sum(mem["service"])) / n}


def machine() -> str:
    docker = run(["docker", "version", "--format", "{{.Server.Version}}"]).stdout.strip()
    compose = run(["docker", "compose", "version", "--short"]).stdout.strip()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores, {mem_gb:.0f} GiB, Linux {platform.release()}, "
            f"Docker engine {docker}, Compose {compose}, Python {platform.python_version()}")


def report(results: dict, args) -> str:
    w, d = results["warm"], results["dry"]
    lines = [f"Machine: {results['machine']}", f"Rounds per figure: {args.rounds} (medians)", "",
             "| figure | measured | baseline / goal | ratio or verdict |", "|---|---|---|---|",
             f"| warm deploy, {args.warm} deckies x 2 services | {w['ours']:.2f} s | plain `compose up -d` "
             f"{w['plain']:.2f} s (goal ratio <= {GOALS['warm']}) | {w['ratio']:.2f} "
             f"{'met' if w['ratio'] <= GOALS['warm'] else 'MISSED'} |",
             f"| dry run, {args.dry} deckies | {d['wall']:.2f} s, {d['rss_mb']:.0f} MB peak | < {GOALS['dry_wall']} s,"
             f" < {GOALS['dry_rss']} MB | {'met' if d['wall'] < GOALS['dry_wall'] and d['rss_mb'] < GOALS['dry_rss'] else 'MISSED'} |"]
    for size, row in results["sizes"].items():
        lines.append(f"| status, {size} deckies | {row['status']:.2f} s, {row['api_calls']} API calls | "
                     f"< {GOALS['status']} s | {'met' if row['status'] < GOALS['status'] else 'MISSED'} |")
    for size, row in results["sizes"].items():
        lines.append(f"| teardown --decky in {size} | {row['teardown_decky']:.2f} s | < {GOALS['teardown_decky']} s | "
                     f"{'met' if row['teardown_decky'] < GOALS['teardown_decky'] else 'MISSED'} |")
    lines += ["", "Growth with fleet size (deckies x 2 services, images present):", "",
              "| deckies | deploy | status | API calls (status) | teardown --decky |", "|---|---|---|---|---|"]
    for size, row in results["sizes"].items():
        lines.append(f"| {size} | {row['deploy']:.2f} s | {row['status']:.2f} s | {row['api_calls']} | "
                     f"{row['teardown_decky']:.2f} s |")
    if results.get("scale"):
        s = results["scale"]
        lines += ["", f"Scale: {s['deckies']} deckies x 2 services deployed in {s['wall']:.1f} s; "
                      f"{s['answering']}/{s['deckies']} answered ssh from the attacker namespace; memory (docker stats) "
                      f"base {s['base_mb']:.1f} MiB, service {s['service_mb']:.1f} MiB (medians), "
                      f"{s['per_decky_mb']:.1f} MiB per decky in all."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a small, quick run (used by the test suite)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", metavar="FILE", help="also write the report (markdown) to FILE")
    args = parser.parse_args()
    args.sizes, args.warm, args.dry = ([3], 3, 100) if args.smoke else ([5, 20, 50, 100], 20, 1000)
    if args.smoke:
        args.rounds = 1
    run(["bash", str(REPO / "scripts" / "dockerd-up.sh")])
    run(["bash", str(REPO / "scripts" / "base-image.sh")])
    run(["bash", str(REPO / "scripts" / "test-lan.sh"), "up"])
    proxy = CountingProxy()
    results = {"machine": machine(), "sizes": {}}
    try:
        print(f"bench: dry run of {args.dry} deckies", file=sys.stderr)
        results["dry"] = dry_run(args.dry, max(args.rounds, 3))
        print(f"bench: warm deploy of {args.warm} deckies vs plain compose", file=sys.stderr)
        results["warm"] = warm_deploy(args.warm, args.rounds)
        for size in args.sizes:
            print(f"bench: fleet of {size}", file=sys.stderr)
            walls = []
            for _ in range(args.rounds if size <= 20 else 1):
                walls.append(deploy(size))
                teardown()
            results["sizes"][size] = {"deploy": median(walls), **status_and_teardown(size, args.rounds, proxy)}
        if not args.smoke:
            print("bench: scale, 100 deckies", file=sys.stderr)
            results["scale"] = scale(100)
    finally:
        run([*INV, "teardown"], check=False)
        run(["bash", str(REPO / "scripts" / "test-lan.sh"), "down"], check=False)
        shutil.rmtree(STATE, ignore_errors=True)
    text = report(results, args)
    print(text)
    if args.write:
        Path(args.write).write_text("# Benchmarks\n\nWritten by `benchmarks/bench.py --write`; every figure below "
                                    "is one the script printed.\n\n" + text)


if __name__ == "__main__":
    main()
