"""The real lab the end-to-end tests run in: dockerd, the base image, a veth LAN with an
attacker namespace, and the CLI run as a user runs it. Traffic only to the test LAN."""
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAN = {"DECNET_LAN_PARENT": "dn-e2elan0", "DECNET_LAN_NS": "dn-e2ens",
       "DECNET_LAN_ATTACKER": "10.213.1.2/24", "DECNET_LAN_PEER": "dn-e2eatk0"}
SUBNET = ipaddress.IPv4Network("10.213.1.0/24")
ATTACKER_IP = "10.213.1.2"
PROBE = Path(__file__).resolve().parent / "probe.py"


def sh(*cmd: str, check: bool = True, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    return sh("bash", str(REPO / "scripts" / name), *args, env=LAN)


class Cli:
    """`inv` exactly as a user runs it, with its own state directory."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    def __call__(self, *args: str, check: bool = True, env: dict | None = None, timeout: int = 600):
        return sh(sys.executable, "-m", "invoke", "--search-root", str(REPO), *args, check=check, timeout=timeout,
                  env={"DECNET_STATE_DIR": str(self.state_dir), "DECNET_RETRY_WAIT_MS": "200", **(env or {})})

    def status(self) -> dict:
        return json.loads(self("status", "--json").stdout)

    @property
    def state_file(self) -> Path:
        return self.state_dir / "decnet-state.json"

    def state(self) -> dict:
        return json.loads(self.state_file.read_text())


def assert_in_test_subnet(ip: str) -> None:
    assert ipaddress.IPv4Address(ip) in SUBNET, f"{ip} is outside the test LAN: refusing to send traffic there"


def attacker(*cmd: str, check: bool = True, timeout: int = 30) -> subprocess.CompletedProcess:
    """Run a command inside the attacker namespace (only the test LAN is reachable there)."""
    return sh("ip", "netns", "exec", LAN["DECNET_LAN_NS"], *cmd, check=check, timeout=timeout)


def probe(ip: str, port: int, send: str = "", from_attacker: bool = True, check: bool = True) -> str:
    """First bytes a TCP service says at ip:port (after sending `send`)."""
    assert_in_test_subnet(ip)
    cmd = [sys.executable, str(PROBE), ip, str(port), send]
    if from_attacker:
        return attacker(*cmd, check=check).stdout
    route = sh("ip", "-4", "route", "get", ip).stdout
    assert " dev dn-" in route, f"host route to {ip} does not use a decnet shim: {route}"
    return sh(*cmd, check=check).stdout


def ping_ttl(ip: str) -> int | None:
    assert_in_test_subnet(ip)
    out = attacker("ping", "-n", "-c", "1", "-W", "2", ip, check=False).stdout
    for word in out.split():
        if word.startswith("ttl="):
            return int(word[4:])
    return None


def containers(deployment: str, *filters: str) -> list[str]:
    args = ["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=decnet.deployment={deployment}"]
    for f in filters:
        args += ["--filter", f"label={f}"]
    return sorted(sh(*args).stdout.split())


def container_ids(deployment: str) -> dict[str, str]:
    out = sh("docker", "ps", "-a", "--format", "{{.Names}} {{.ID}}", "--filter",
             f"label=decnet.deployment={deployment}").stdout
    return dict(line.split() for line in out.splitlines())
