"""Issue 3 end to end: one decky per archetype (all 14 services) on the test LAN; every service
is exercised from the attacker namespace with its real client, its log lines are parsed as
RFC 5424 and must name the attacker, and nmap -sV must name each service like a real host."""
import json
import sys
import time
from xml.etree import ElementTree
from pathlib import Path

import pytest

from generators.catalog import SERVICES

from engine import rfc5424
from . import lab

CLIENTS = Path(__file__).resolve().parent / "clients.py"
ARCHETYPES = {  # decky -> (archetype, address)
    "ws": ("windows-workstation", "10.213.1.20"), "srv": ("windows-server", "10.213.1.21"),
    "dc": ("domain-controller", "10.213.1.22"), "lnx": ("linux-server", "10.213.1.23"),
    "web": ("web-server", "10.213.1.24"), "db": ("database-server", "10.213.1.25"),
    "mail": ("mail-server", "10.213.1.26"), "files": ("file-server", "10.213.1.27"),
    "cam": ("iot-device", "10.213.1.28"), "dead": ("deaddeck", "10.213.1.29"),
}
CONFIG = "name: catalog\nnetwork: {interface: dn-e2elan0, subnet: 10.213.1.0/24, gateway: 10.213.1.1, " \
         "host_ip: 10.213.1.3}\ndeckies:\n" + "".join(
             f"  - {{name: {name}, ip: {ip}, archetype: {arch}}}\n" for name, (arch, ip) in ARCHETYPES.items())

# service -> (decky that runs it, what the real client must see)
EXPECTED = {
    "ssh": ("lnx", "Permission denied"),
    "telnet": ("cam", "Login incorrect"),
    "ftp": ("web", "530 Login incorrect."),
    "http": ("lnx", "Server: Apache/2.4.57 (Debian)"),
    "https": ("srv", "Server: Microsoft-IIS/10.0"),
    "smtp": ("mail", "535"),
    "pop3": ("mail", "-ERR [AUTH] Authentication failed."),
    "imap": ("mail", "AUTHENTICATIONFAILED"),
    "mysql": ("db", "ERROR 1045 (28000): Access denied for user 'root'@"),
    "postgres": ("db", 'password authentication failed for user "admin"'),
    "redis": ("db", "PONG / redis_version:7.0."),
    "mqtt": ("cam", "anonymous publish: ok"),
    "smb": ("ws", "NT_STATUS_LOGON_FAILURE"),
    "rdp": ("ws", "X.224 Connection Confirm"),
}
# services whose client sends credentials: their auth line must carry the user name
USERS = {"ssh": "root", "telnet": "admin", "ftp": "anonymous", "smtp": "postmaster", "pop3": "alice",
         "imap": "bob", "mysql": "root", "postgres": "admin", "redis": "default", "mqtt": "admin",
         "smb": "administrator", "rdp": "administrator"}
NMAP_NAMES = {21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 80: "http", 110: "pop3", 139: "netbios-ssn",
              143: "imap", 443: "ssl/http", 445: "microsoft-ds", 1883: "mosquitto", 3306: "mysql", 3389: "ms-wbt-server",
              5432: "postgresql", 6379: "redis"}
SEEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def catalog(real_lab, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("catalog")
    cli = lab.Cli(root / "state")
    request.addfinalizer(lambda: cli("teardown", check=False))
    config = root / "catalog.yml"
    config.write_text(CONFIG)
    started = time.monotonic()
    cli("deploy", "--config", str(config))
    print(f"\n10-decky catalog deploy took {time.monotonic() - started:.1f} s")
    return cli


def ip_of(decky: str) -> str:
    return ARCHETYPES[decky][1]


@pytest.mark.parametrize("service", EXPECTED)
def test_real_client_reaches_the_credential_exchange(catalog, service):
    decky, expected = EXPECTED[service]
    hostname = next(d["hostname"] for d in catalog.state()["deckies"] if d["name"] == decky)
    seen = lab.attacker(sys.executable, str(CLIENTS), service, ip_of(decky), hostname, timeout=60).stdout.strip()
    SEEN[service] = seen
    print(f"\n{service:9} {seen}")
    assert expected in seen


def test_https_certificate_names_the_decky(catalog):
    hostname = next(d["hostname"] for d in catalog.state()["deckies"] if d["name"] == "srv")
    seen = SEEN.get("https") or lab.attacker(sys.executable, str(CLIENTS), "https", ip_of("srv"), hostname).stdout
    assert f"CN = {hostname}" in seen or f"CN={hostname}" in seen


@pytest.mark.parametrize("service", EXPECTED)
def test_every_log_line_is_rfc5424_and_names_the_attacker(catalog, service):
    decky, _ = EXPECTED[service]
    logs = lab.sh("docker", "logs", f"catalog-{decky}-{service}-1").stdout
    events = rfc5424.parse_all(logs)                      # raises on any malformed line
    assert all(e["hostname"] == decky and e["app"] == service for e in events)
    mine = [e for e in events if e["sd"].get("src_ip") == lab.ATTACKER_IP]
    assert any(e["msgid"] == "connect" and e["sd"].get("src_port", "").isdigit() for e in mine), logs
    if service in USERS:
        auth = [e for e in mine if e["msgid"] == "auth"]
        assert any(USERS[service] in json.dumps(e["sd"]) for e in auth), logs


def test_nmap_names_every_service_like_a_real_host(catalog):
    ports = ",".join(str(p) for p in sorted(NMAP_NAMES))
    targets = [ip_of(d) for d in ARCHETYPES]
    for ip in targets:
        lab.assert_in_test_subnet(ip)
    started = time.monotonic()
    out = lab.attacker("nmap", "-sV", "-Pn", "-n", "-T4", "-p", ports, "-oX", "-", *targets, timeout=600).stdout
    print(f"\nnmap -sV of {len(targets)} deckies took {time.monotonic() - started:.0f} s")
    found = {}
    for host in ElementTree.fromstring(out).iter("host"):
        ip = host.find("address").get("addr")
        for port in host.iter("port"):
            service = port.find("service")
            if port.find("state").get("state") == "open" and service is not None:
                version = " ".join(filter(None, (service.get(k) for k in ("product", "version", "extrainfo"))))
                tunnel = "ssl/" if service.get("tunnel") == "ssl" else ""
                found[(ip, int(port.get("portid")))] = (tunnel + service.get("name", ""), version)
    for (ip, port), (name, version) in sorted(found.items()):
        print(f"  {ip:12} {port:5} {name:16} {version}")
    for service, (decky, _) in EXPECTED.items():
        for port in SERVICES[service].ports:
            name, _ = found.get((ip_of(decky), port.number), ("(closed)", ""))
            assert NMAP_NAMES[port.number] in name, (service, port, name)
