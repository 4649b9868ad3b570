"""`inv logs`: the fleet's RFC 5424 events, merged in time order, from the containers' logs."""
import queue
import re
import threading
from datetime import datetime, timedelta, timezone

from generators.errors import DecnetError

from . import docker_api, rfc5424

_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_since(text: str | None) -> datetime | None:
    """'10m', '2h', '1d', or an ISO time (UTC when it names no zone)."""
    if not text:
        return None
    match = _RELATIVE.match(text)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DecnetError(f"--since {text!r} is not a time; use e.g. 10m, 2h, 1d or 2026-12-04T10:00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sources(deployment: str, decky: str | None, service: str | None) -> list[docker_api.ContainerInfo]:
    found = [c for c in docker_api.containers(deployment, decky) if c.role == "service"
             and (service is None or c.service == service)]
    if not found and (decky or service):
        raise DecnetError(f"no service containers match --decky {decky or '*'} --service {service or '*'} in "
                          f"deployment {deployment}; see 'inv status'")
    return found


def event(line: str, source: docker_api.ContainerInfo) -> dict | None:
    """One log line as an event, or None when it is not an RFC 5424 line."""
    try:
        parsed = rfc5424.parse(line)
    except ValueError:
        return None
    sd = dict(parsed["sd"])
    return {"timestamp": parsed["timestamp"], "decky": source.decky, "service": source.service,
            "event": parsed["msgid"], "src_ip": sd.pop("src_ip", ""), "src_port": sd.pop("src_port", ""),
            "severity": parsed["severity"], "fields": sd, "msg": parsed["msg"]}


def collect(deployment: str, decky=None, service=None, since=None) -> tuple[list[dict], int]:
    """All matching events in time order, and how many lines were not events."""
    events, skipped = [], 0
    for source in _sources(deployment, decky, service):
        for line in docker_api.container_logs(source.id, since).splitlines():
            parsed = event(line, source)
            if parsed is None:
                skipped += bool(line.strip())
            else:
                events.append(parsed)
    events.sort(key=lambda e: e["timestamp"])
    return events, skipped


def follow(deployment: str, emit, decky=None, service=None, since=None, stop: threading.Event | None = None) -> None:
    """Emit events as the containers write them, until `stop` is set (or Ctrl-C)."""
    lines: queue.Queue = queue.Queue(maxsize=10000)
    since = since or datetime.now(timezone.utc)
    for source in _sources(deployment, decky, service):
        def pump(source=source):
            for line in docker_api.follow_logs(source.id, since):
                parsed = event(line, source)
                if parsed is not None:
                    lines.put(parsed)
        threading.Thread(target=pump, daemon=True).start()
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            emit(lines.get(timeout=0.2))
        except queue.Empty:
            continue
