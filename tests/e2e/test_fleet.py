"""Issue 2 end to end on the real engine: a 3-decky fleet on a veth LAN, probed from an
attacker namespace, then torn down one decky at a time and fully; each leftover is checked."""
import sys
import time

import pytest

from . import lab
from .lab import probe, ping_ttl

CONFIG = """
name: e2e
network:
  driver: macvlan
  interface: dn-e2elan0
  subnet: 10.213.1.0/24
  gateway: 10.213.1.1
  host_ip: 10.213.1.3
deckies:
  - {name: alpha, ip: 10.213.1.10, services: [ssh, http], os: linux}
  - {name: bravo, ip: 10.213.1.11, services: [http, ftp], os: windows, hostname: BRAVO-PC, mac: "f8:bc:12:01:02:03"}
  - {name: charlie, ip: 10.213.1.12, services: [ssh, ftp], os: bsd}
"""
DECKIES = {"alpha": "10.213.1.10", "bravo": "10.213.1.11", "charlie": "10.213.1.12"}
SERVICES = {"alpha": ["ssh", "http"], "bravo": ["http", "ftp"], "charlie": ["ssh", "ftp"]}
BANNERS = {"ssh": (22, "", "SSH-2.0-OpenSSH_"), "http": (80, "HEAD / HTTP/1.0\\r\\n\\r\\n", "Server: Apache/"),
           "ftp": (21, "", "220 ")}


@pytest.fixture(scope="module")
def fleet(real_lab, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("fleet")
    cli = lab.Cli(root / "state")
    request.addfinalizer(lambda: cli("teardown", check=False))   # even when the deploy fails
    config = root / "e2e.yml"
    config.write_text(CONFIG)
    started = time.monotonic()
    result = cli("deploy", "--config", str(config))
    print(f"\n3-decky deploy took {time.monotonic() - started:.1f} s")
    return cli, config, result


def answers(ip: str, service: str) -> bool:
    port, send, expected = BANNERS[service]
    return expected in probe(ip, port, send, check=False)


def test_deploy_ends_with_the_status_table(fleet):
    _, _, result = fleet
    assert "DECNET deployment: e2e" in result.stdout
    for name in DECKIES:
        assert name in result.stdout


def test_status_json_shows_every_decky_up(fleet):
    cli, _, _ = fleet
    report = cli.status()
    assert report["deployment"] == "e2e"
    assert [(d["name"], d["ip"], d["status"]) for d in report["deckies"]] == [
        (name, ip, "up") for name, ip in DECKIES.items()]
    bravo = report["deckies"][1]
    assert bravo["hostname"] == "BRAVO-PC"
    assert bravo["services"] == [{"name": "http", "state": "running"}, {"name": "ftp", "state": "running"}]


@pytest.mark.parametrize("decky, service", [(d, s) for d, ss in SERVICES.items() for s in ss])
def test_every_service_answers_the_attacker_at_its_decky_address(fleet, decky, service):
    assert answers(DECKIES[decky], service)


def test_service_logs_name_the_attacker(fleet):
    probe(DECKIES["alpha"], 80, "GET /hello HTTP/1.0\\r\\n\\r\\n")
    time.sleep(0.5)
    logs = lab.sh("docker", "logs", "e2e-alpha-http-1").stdout
    lines = [ln for ln in logs.splitlines() if 'path="/hello"' in ln]
    assert lines, logs
    assert lines[-1].startswith("<134>1 ") and " alpha http " in lines[-1]
    assert f'src_ip="{lab.ATTACKER_IP}"' in lines[-1]


def test_host_reaches_a_decky_through_the_shim(fleet):
    route = lab.sh("ip", "-4", "route", "get", DECKIES["alpha"]).stdout
    assert route.split()[:3] == [DECKIES["alpha"], "dev", "dn-e2e"] and "src 10.213.1.3" in route
    assert "Server: Apache/" in probe(DECKIES["alpha"], 80, "HEAD / HTTP/1.0\\r\\n\\r\\n", from_attacker=False)


def test_os_personality_shows_in_the_ttl(fleet):
    assert ping_ttl(DECKIES["bravo"]) == 128   # windows
    assert ping_ttl(DECKIES["alpha"]) == 64    # linux



def test_each_decky_shows_its_own_vendor_mac_on_the_wire(fleet):
    cli, _, _ = fleet
    macs = {d["name"]: d["mac"] for d in cli.state()["deckies"]}
    assert macs["bravo"] == "f8:bc:12:01:02:03"
    for name, ip in DECKIES.items():
        assert ping_ttl(ip) is not None
        neighbour = lab.attacker("ip", "neigh", "show", ip).stdout.split()
        assert neighbour[neighbour.index("lladdr") + 1] == macs[name], neighbour

def test_host_state_matches_the_state_file(fleet):
    cli, _, _ = fleet
    state = cli.state()
    assert state["host"]["routes"] == [f"{ip}/32" for ip in DECKIES.values()]
    routes = lab.sh("ip", "-4", "route", "show", "dev", "dn-e2e").stdout.split("\n")
    assert sorted(r.split()[0] for r in routes if r) == sorted(DECKIES.values())
    assert lab.sh("cat", "/sys/class/net/dn-e2e/ifalias").stdout.strip() == "decnet:e2e"


FTP_LOGIN = """
import ftplib
ftp = ftplib.FTP("10.213.1.11", timeout=5)
print(ftp.getwelcome())
try:
    ftp.login("admin", "hunter2")
except ftplib.error_perm as exc:
    print(exc)
"""


def auth_lines(container: str) -> list[str]:
    return [ln for ln in lab.sh("docker", "logs", container).stdout.splitlines() if " auth " in ln]


def test_ftp_login_is_refused_and_logged_with_the_attacker(fleet):
    out = lab.attacker(sys.executable, "-c", FTP_LOGIN).stdout.splitlines()
    assert out == ["220 (vsFTPd 3.0.3)", "530 Login incorrect."]
    (line,) = auth_lines("e2e-bravo-ftp-1")
    assert line.startswith("<13") and " bravo ftp " in line
    assert 'username="admin"' in line and 'password="hunter2"' in line
    assert f'src_ip="{lab.ATTACKER_IP}"' in line and 'src_port="' in line


def test_openssh_client_reaches_password_auth_and_is_logged(fleet):
    result = lab.attacker(
        "sshpass", "-p", "s3cr\"et", "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
        "-o", "ConnectTimeout=5", f"root@{DECKIES['alpha']}", "true", check=False)
    assert result.returncode != 0 and "Permission denied" in result.stderr
    lines = [ln for ln in auth_lines("e2e-alpha-ssh-1") if 'password="s3cr\\"et"' in ln]
    assert lines and 'username="root"' in lines[0] and f'src_ip="{lab.ATTACKER_IP}"' in lines[0]


def test_changing_the_network_of_a_live_deployment_is_refused(fleet, tmp_path):
    cli, _, _ = fleet
    before = lab.container_ids("e2e")
    changed = tmp_path / "changed.yml"
    changed.write_text(CONFIG.replace("host_ip: 10.213.1.3", "host_ip: 10.213.1.4"))
    result = cli("deploy", "--config", str(changed), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: deployment 'e2e' is live with another network; changing driver, interface, subnet, gateway, "
        "pool or host_ip needs 'inv teardown' first"]
    assert lab.container_ids("e2e") == before and cli.state()["host"]["host_ip"] == "10.213.1.3"

def test_deploying_again_recreates_nothing(fleet):
    cli, config, _ = fleet
    before = lab.container_ids("e2e")
    result = cli("deploy", "--config", str(config))
    assert lab.container_ids("e2e") == before
    assert "images: 0 built (all up to date)" in result.stderr   # unchanged contexts are not rebuilt


def test_teardown_of_one_decky_removes_all_of_it(fleet):
    cli, _, _ = fleet
    started = time.monotonic()
    cli("teardown", "--decky", "charlie")
    print(f"\nteardown --decky took {time.monotonic() - started:.1f} s")
    assert lab.containers("e2e", "decnet.decky=charlie") == []
    assert ping_ttl(DECKIES["charlie"]) is None
    assert not answers(DECKIES["charlie"], "ssh")
    assert [d["name"] for d in cli.state()["deckies"]] == ["alpha", "bravo"]
    assert DECKIES["charlie"] not in lab.sh("ip", "-4", "route", "show", "dev", "dn-e2e").stdout
    assert [d["name"] for d in cli.status()["deckies"]] == ["alpha", "bravo"]
    for decky in ("alpha", "bravo"):
        for service in SERVICES[decky]:
            assert answers(DECKIES[decky], service), (decky, service)


def test_unknown_decky_is_one_line(fleet):
    cli, _, _ = fleet
    result = cli("teardown", "--decky", "zulu", check=False)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "error: no decky named 'zulu' in deployment e2e; see 'inv status'"]


def test_full_teardown_leaves_nothing_behind(fleet):
    cli, _, _ = fleet
    started = time.monotonic()
    cli("teardown")
    print(f"\nfull teardown took {time.monotonic() - started:.1f} s")
    assert lab.containers("e2e") == []
    assert lab.sh("ip", "link", "show", "dev", "dn-e2e", check=False).returncode != 0
    routes = lab.sh("ip", "-4", "route", "show").stdout
    assert not any(ip in routes for ip in DECKIES.values())
    assert lab.sh("docker", "network", "ls", "-q", "--filter", "name=decnet-e2e").stdout.strip() == ""
    assert not cli.state_file.exists()
    assert not (cli.state_dir / "decnet-compose.yml").exists()
    assert ping_ttl(DECKIES["alpha"]) is None
    assert cli.status()["deployment"] != "e2e"   # another deployment on this engine may still show

