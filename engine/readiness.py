"""Wait until every decky's services listen on their ports. Read from the host, through each
base container's /proc/<pid>/net tables: no connection is made, so no decoy logs a fake touch."""
import time
from pathlib import Path

from generators.catalog import SERVICES

from . import docker_api

LISTEN_STATES = {"tcp": "0A", "udp": "07"}   # TCP_LISTEN; UDP unconnected (bound)
FAILED_STATES = {"exited", "dead", "restarting"}


def listening_ports(pid: int) -> set[str]:
    """Ports listening in the network namespace of `pid`, as '22/tcp'."""
    found = set()
    for proto, state in LISTEN_STATES.items():
        for table in (f"/proc/{pid}/net/{proto}", f"/proc/{pid}/net/{proto}6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > 3 and fields[3] == state:
                    found.add(f"{int(fields[1].rsplit(':', 1)[1], 16)}/{proto}")
    return found


def not_ready(deployment: str, deckies: list[dict]) -> dict[str, str]:
    """'decky/service' -> why it is not ready, for every service not yet answering."""
    pending: dict[str, str] = {}
    found = {(c.decky, c.service): c for c in docker_api.containers(deployment)}
    pids = docker_api.base_pids(deployment)
    for decky in deckies:
        listening = listening_ports(pids[decky["name"]]) if pids.get(decky["name"]) else set()
        for service in decky["services"]:
            key = f"{decky['name']}/{service}"
            container = found.get((decky["name"], service))
            if container is None:
                pending[key] = "missing"
            elif container.state != "running":
                pending[key] = container.state
            elif not {str(p) for p in SERVICES[service].ports} <= listening:
                pending[key] = "not listening yet"
    return pending


def wait_ready(deployment: str, deckies: list[dict], timeout: float, poll: float = 0.2,
               progress=lambda text: None) -> dict[str, str]:
    """Poll until all services listen; give up early on containers that crash. Returns what is not ready."""
    deadline = time.monotonic() + timeout
    total, last = sum(len(d["services"]) for d in deckies), None
    while True:
        pending = not_ready(deployment, deckies)
        if len(pending) != last:
            last = len(pending)
            progress(f"{total - last}/{total} services listening")
        if not pending or time.monotonic() >= deadline:
            return pending
        if all(state in FAILED_STATES for state in pending.values()) and time.monotonic() > deadline - timeout + 5:
            return pending   # only crashed containers left, and they had 5 s to come back
        time.sleep(poll)
