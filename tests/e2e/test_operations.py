"""Issue 6 on the real engine: `inv logs`, forwarding to a real rsyslog in the attacker
namespace (including a collector that is down for a while), and recovery after a reboot."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import lab
from .lab import probe

ALPHA, BRAVO = "10.213.1.50", "10.213.1.51"
COLLECTOR = lab.ATTACKER_IP
FTP_LOGIN = ("import ftplib,sys\nftp = ftplib.FTP(sys.argv[1], timeout=5)\n"
             "try:\n    ftp.login(sys.argv[2], 'pw-' + sys.argv[2])\nexcept ftplib.error_perm:\n    pass\n")


def config(target: str | None) -> str:
    logging = f"logging: {{target: '{target}'}}\n" if target else ""
    return ("name: ops\nnetwork: {interface: dn-e2elan0, subnet: 10.213.1.0/24, gateway: 10.213.1.1, "
            f"host_ip: 10.213.1.3}}\n{logging}deckies:\n"
            f"  - {{name: alpha, ip: {ALPHA}, services: [http, ftp]}}\n"
            f"  - {{name: bravo, ip: {BRAVO}, services: [ssh, ftp]}}\n")


def ftp_login(ip: str, user: str) -> None:
    lab.attacker(sys.executable, "-c", FTP_LOGIN, ip, user)


class Rsyslog:
    """A real rsyslogd listening on UDP and TCP 514 inside the attacker namespace."""

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.received = workdir / "received.log"
        self.conf = workdir / "rsyslog.conf"
        self.conf.write_text(
            f'global(workDirectory="{workdir}")\n'
            'module(load="imudp")\ninput(type="imudp" port="514")\n'
            'module(load="imtcp")\ninput(type="imtcp" port="514")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'*.* action(type="omfile" file="{self.received}" template="raw")\n')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.LAN["DECNET_LAN_NS"], "rsyslogd", "-n", "-f",
                                      str(self.conf), "-i", str(self.dir / "rsyslogd.pid")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listening = lab.attacker("ss", "-ltn", "sport = :514").stdout
            if ":514" in listening:
                return
            time.sleep(0.1)
        raise AssertionError("rsyslogd did not start listening")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def lines(self) -> list[str]:
        return self.received.read_text().splitlines() if self.received.exists() else []

    def wait_for(self, needle: str, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [ln for ln in self.lines() if needle in ln]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never reached rsyslog; it got {len(self.lines())} lines")


@pytest.fixture(scope="module")
def collector(real_lab, tmp_path_factory):
    syslog = Rsyslog(tmp_path_factory.mktemp("rsyslog"))
    syslog.start()
    yield syslog
    syslog.stop()


@pytest.fixture(scope="module")
def ops(real_lab, collector, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("ops")
    cli = lab.Cli(root / "state")
    request.addfinalizer(lambda: cli("teardown", check=False))
    path = root / "ops.yml"
    path.write_text(config(f"tcp://{COLLECTOR}:514"))
    cli("deploy", "--config", str(path))
    return cli


# --- inv logs -----------------------------------------------------------------------------

def test_logs_merge_every_event_in_time_order_with_the_attacker(ops):
    ftp_login(ALPHA, "root")
    ftp_login(BRAVO, "oracle")
    probe(ALPHA, 80, "GET /wp-login.php HTTP/1.0\\r\\n\\r\\n")
    time.sleep(0.5)
    events = [json.loads(ln) for ln in ops("logs", "--json").stdout.splitlines()]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    mine = [e for e in events if e["src_ip"] == lab.ATTACKER_IP]
    assert {(e["decky"], e["service"]) for e in mine} >= {("alpha", "ftp"), ("bravo", "ftp"), ("alpha", "http")}
    auth = [e for e in mine if e["event"] == "auth"]
    assert {(e["decky"], e["fields"]["username"], e["fields"]["password"]) for e in auth} >= {
        ("alpha", "root", "pw-root"), ("bravo", "oracle", "pw-oracle")}
    assert any(e["event"] == "request" and e["fields"].get("path") == "/wp-login.php" for e in mine)


def test_logs_filter_by_decky_and_service_and_read_well(ops):
    out = ops("logs", "--decky", "bravo", "--service", "ftp").stdout
    lines = [ln for ln in out.splitlines() if " auth " in ln]
    assert lines and all(" bravo/ftp auth " in ln for ln in lines)
    assert f"{lab.ATTACKER_IP}:" in lines[-1] and "username='oracle'" in lines[-1] and "password='pw-oracle'" in lines[-1]
    time.sleep(1.5)
    assert ops("logs", "--since", "1s", "--decky", "alpha").stdout.strip() == ""   # nothing happened since
    result = ops("logs", "--decky", "nosuch", check=False)
    assert result.returncode == 1 and "no service containers match --decky nosuch" in result.stderr


def test_logs_follow_prints_new_events_as_they_happen(ops):
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "--search-root", str(lab.REPO), "logs", "--follow",
                             "--json", "--decky", "alpha", "--service", "ftp"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "DECNET_STATE_DIR": str(ops.state_dir)})
    try:
        time.sleep(1.5)
        ftp_login(ALPHA, "followme")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            event = json.loads(proc.stdout.readline())
            if event["event"] == "auth" and event["fields"].get("username") == "followme":
                break
        else:
            raise AssertionError("the followed event never came")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


# --- forwarding ---------------------------------------------------------------------------

def test_events_reach_a_real_rsyslog_over_tcp(ops, collector):
    ftp_login(ALPHA, "forwarded")
    (line,) = collector.wait_for('username="forwarded"')
    assert line.startswith("<13") and " alpha ftp " in line and f'src_ip="{lab.ATTACKER_IP}"' in line


def test_a_collector_that_is_down_for_a_while_never_blocks_and_gets_the_lines_later(ops, collector):
    collector.stop()
    started = time.monotonic()
    for i in range(5):
        ftp_login(BRAVO, f"while-down-{i}")     # the decoy keeps answering at full speed
    assert time.monotonic() - started < 20
    assert "SSH-2.0-" in probe(BRAVO, 22)
    collector.start()
    for i in range(5):
        collector.wait_for(f'username="while-down-{i}"', timeout=60)   # queued, then delivered


def test_switching_the_fleet_to_udp_forwarding_reaches_rsyslog(ops, collector):
    path = ops.state_dir.parent / "ops-udp.yml"
    path.write_text(config(f"udp://{COLLECTOR}:514"))
    ops("deploy", "--config", str(path))          # services are recreated with the new target
    ftp_login(ALPHA, "viaudp")
    (line,) = collector.wait_for('username="viaudp"')
    assert " alpha ftp " in line and f'src_ip="{lab.ATTACKER_IP}"' in line


# --- after a reboot -----------------------------------------------------------------------

def test_restore_brings_back_a_lost_shim_without_recreating_containers(ops):
    before = lab.container_ids("ops")
    lab.sh("ip", "link", "del", "dn-ops")      # what a reboot does to host-side state
    assert "dn-ops" not in lab.sh("ip", "-4", "route", "get", ALPHA).stdout
    out = ops("restore").stderr
    assert "host shim dn-ops re-created with 2 routes" in out
    assert "Server: Apache/" in probe(ALPHA, 80, "HEAD / HTTP/1.0\\r\\n\\r\\n", from_attacker=False)
    assert lab.container_ids("ops") == before
    assert "host shim dn-ops checked" in ops("restore").stderr   # idempotent


def test_restore_revives_services_left_deaf_by_a_restarted_base(ops):
    lab.sh("docker", "restart", "-t", "1", "ops-bravo-1")
    time.sleep(1)
    assert "SSH-2.0-" not in probe(BRAVO, 22, check=False)     # Up, but in a dead namespace
    out = ops("restore").stderr
    assert "ops-bravo-ssh-1" in out and "ops-bravo-ftp-1" in out
    deadline = time.monotonic() + 20
    while "SSH-2.0-" not in probe(BRAVO, 22, check=False) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "SSH-2.0-" in probe(BRAVO, 22)


def test_install_service_writes_a_valid_enabled_unit(real_lab, tmp_path):
    cli = lab.Cli(tmp_path / "state")
    cli("install-service", "--root", str(tmp_path / "root"))
    unit = tmp_path / "root" / "etc/systemd/system/decnet-restore.service"
    text = unit.read_text()
    assert "After=docker.service" in text and f"DECNET_STATE_DIR={tmp_path / 'state'}" in text
    assert text.split("ExecStart=")[1].split()[:2] == [str(Path(sys.executable).parent / "decnet"), "restore"]
    assert (tmp_path / "root" / "etc/systemd/system/multi-user.target.wants/decnet-restore.service").is_symlink()
    assert lab.sh("systemd-analyze", "verify", str(unit), check=False).returncode == 0
