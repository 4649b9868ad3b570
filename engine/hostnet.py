"""Adapter for host networking: every change goes through scripts/host-shim.sh."""
import os
import subprocess
from pathlib import Path

from generators.errors import DecnetError

from .paths import SCRIPTS

SHIM_SCRIPT = SCRIPTS / "host-shim.sh"


class HostNetError(DecnetError):
    """The host shim or its routes could not be set up or removed."""


def _script(*args: str, print_only: bool = False) -> str:
    cmd = ["bash", str(SHIM_SCRIPT), *(["--print"] if print_only else []), *args]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise HostNetError(lines[-1] if lines else f"host-shim.sh {args[0]} failed with exit code {proc.returncode}")
    return proc.stdout


def interface_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def interface_ipv4(name: str) -> str | None:
    """The first IPv4 address on an interface (read-only)."""
    proc = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", name], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return None


def probe_driver(driver: str, parent: str) -> None:
    """Raise HostNetError with the script's one-line reason when the kernel lacks the driver."""
    _script("probe", "--driver", driver, "--parent", parent)


def shim_args(state: dict) -> list[str]:
    host = state["host"]
    return ["--driver", state["network"]["driver"], "--parent", state["network"]["interface"],
            "--shim", host["shim"], "--host-ip", host["host_ip"], "--owner", state["deployment"],
            *[r.split("/")[0] for r in host["routes"]]]


def shim_up(state: dict, print_only: bool = False) -> str:
    """Create/converge the shim, its /32 address and exactly the decky routes (idempotent)."""
    return _script("up", *shim_args(state), print_only=print_only)


def shim_down(shim: str, deployment: str) -> None:
    _script("down", "--shim", shim, "--owner", deployment)


def interface_is_up(name: str) -> bool:
    flags = Path("/sys/class/net", name, "flags").read_text()
    return bool(int(flags, 16) & 0x1)   # IFF_UP


CAP_NET_ADMIN = 12


def can_change_links() -> bool:
    """Whether this process holds CAP_NET_ADMIN (root normally does; a confined root may not)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    return os.geteuid() == 0
