"""A strict RFC 5424 parser: the decoys' events, read back (by `inv logs` and the tests)."""
import re
from datetime import datetime

HEADER = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S{1,255}) (?P<app>\S{1,48}) (?P<procid>\S{1,128}) "
    r"(?P<msgid>\S{1,32}) (?P<rest>.*)$")
SD_ELEMENT = re.compile(r'\[(?P<id>[^ =\]"]+)(?P<params>(?: [^ =\]"]+="(?:[^"\\\]]|\\.)*")*)\]')
SD_PARAM = re.compile(r' ([^ =\]"]+)="((?:[^"\\\]]|\\.)*)"')


def parse(line: str) -> dict:
    """Fields of one line, or ValueError saying what is wrong."""
    m = HEADER.match(line)
    if not m:
        raise ValueError(f"not an RFC 5424 header: {line!r}")
    pri = int(m["pri"])
    if not 128 <= pri <= 135:
        raise ValueError(f"PRI {pri} is not facility local0: {line!r}")
    ts = m["ts"]
    if not ts.endswith("Z") or "T" not in ts:
        raise ValueError(f"timestamp {ts} is not RFC 3339 UTC: {line!r}")
    datetime.fromisoformat(ts.replace("Z", "+00:00"))
    rest = m["rest"]
    params: dict[str, str] = {}
    if rest.startswith("-"):
        msg = rest[2:] if len(rest) > 1 else ""
    else:
        elements = SD_ELEMENT.match(rest)
        if not elements:
            raise ValueError(f"bad structured data: {line!r}")
        for name, value in SD_PARAM.findall(elements["params"]):
            params[name] = re.sub(r'\\(["\\\]])', r"\1", value)
        msg = rest[elements.end() + 1:]
    return {"pri": pri, "severity": pri - 128, "timestamp": ts, "hostname": m["host"], "app": m["app"],
            "procid": m["procid"], "msgid": m["msgid"], "sd": params, "msg": msg}


def parse_all(text: str) -> list[dict]:
    return [parse(line) for line in text.splitlines() if line.strip()]
