"""Status aggregation: labels are the truth, the state fills in what is missing."""
from engine.docker_api import ContainerInfo
from engine.report import decky_status, summarize


def c(decky, service, state="running", ip="10.0.0.5", hostname="H"):
    return ContainerInfo(name=f"{decky}-{service}", decky=decky, service=service,
                         role="base" if service == "base" else "service", ip=ip, hostname=hostname,
                         state=state, id=f"id-{decky}-{service}")


STATE = {"deckies": [{"name": "a", "ip": "10.0.0.5", "hostname": "H", "services": ["ssh", "http"], "os": "linux"},
                     {"name": "b", "ip": "10.0.0.6", "hostname": "B", "services": ["ssh"], "os": "linux"}]}


def test_decky_status_rules():
    assert decky_status("running", ["running", "running"]) == "up"
    assert decky_status("running", ["running", "exited"]) == "degraded"
    assert decky_status("running", ["exited"]) == "down"
    assert decky_status("exited", ["running"]) == "down"
    assert decky_status(None, ["missing"]) == "down"


def test_summary_joins_labels_and_state():
    found = [c("a", "base"), c("a", "ssh"), c("a", "http", "restarting"), c("x", "base", ip="10.0.0.9", hostname="X"),
             c("x", "ftp")]
    report = summarize("lab", STATE, found)
    assert report == {"deployment": "lab", "deckies": [
        {"name": "a", "ip": "10.0.0.5", "hostname": "H", "status": "degraded",
         "services": [{"name": "ssh", "state": "running"}, {"name": "http", "state": "restarting"}]},
        {"name": "b", "ip": "10.0.0.6", "hostname": "B", "status": "down",
         "services": [{"name": "ssh", "state": "missing"}]},
        {"name": "x", "ip": "10.0.0.9", "hostname": "X", "status": "up",
         "services": [{"name": "ftp", "state": "running"}]},
    ]}


def test_summary_without_state_uses_labels_only():
    report = summarize("lab", None, [c("a", "base"), c("a", "ssh")])
    assert report["deckies"] == [{"name": "a", "ip": "10.0.0.5", "hostname": "H", "status": "up",
                                  "services": [{"name": "ssh", "state": "running"}]}]
