"""The real CLI as a user runs it: one-line errors, no tracebacks, dry run without daemon or root."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INV = [sys.executable, "-m", "invoke", "--search-root", str(REPO)]
GOOD = (REPO / "examples" / "demo.yml").read_text()


def inv(*args, state_dir, cwd=None):
    env = {**os.environ, "DECNET_STATE_DIR": str(state_dir),
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # prove no daemon is needed
    return subprocess.run([*INV, *args], capture_output=True, text=True, cwd=cwd or REPO, env=env, timeout=60)


@pytest.mark.parametrize("content, expected", [
    ("", "the file is empty"),
    ("network: [\n", "malformed YAML"),
    (GOOD.replace("services: [ssh, http]", "services: [ssh, gopher]"), "unknown service 'gopher'"),
    (GOOD.replace("ip: 10.213.0.11", "ip: 10.213.0.10"), "share address 10.213.0.10"),
    (GOOD.replace("interface: dn-lan0", "interface: 'dn-lan0;id'"), "network.interface"),
    (GOOD.replace("driver: macvlan", "driver: bridge"), "use macvlan or ipvlan"),
])
@pytest.mark.parametrize("task", ["validate", "deploy --dry-run"])
def test_bad_config_gives_one_line_and_no_traceback(tmp_path, content, expected, task):
    config = tmp_path / "x.yml"
    config.write_text(content)
    result = inv(*task.split(), "--config", str(config), state_dir=tmp_path / "state")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert not (tmp_path / "state" / "dry-run" / "decnet-state.json").exists()


def test_missing_config_file(tmp_path):
    result = inv("deploy", "--config", str(tmp_path / "nope.yml"), state_dir=tmp_path)
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_dry_run_writes_plan_and_documents_without_daemon(tmp_path):
    config = tmp_path / "x.yml"
    config.write_text(GOOD)
    state_dir = tmp_path / "state"
    result = inv("deploy", "--dry-run", "--config", "x.yml", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = state_dir / "dry-run"
    assert result.stdout.startswith("Plan for deployment demo (4 deckies, 12 containers)")
    assert f"build     docker compose -p demo -f {out}/decnet-build.yml build (3 images)" in result.stdout
    assert f"up        docker compose -p demo -f {out}/decnet-compose.yml up -d --remove-orphans" in result.stdout
    state = json.loads((out / "decnet-state.json").read_text())
    assert state["host"]["routes"] == ["10.213.0.10/32", "10.213.0.11/32", "10.213.0.65/32", "10.213.0.66/32"]
    assert stat.S_IMODE((out / "decnet-state.json").stat().st_mode) == 0o600
    assert (out / "build" / "ssh" / "decnet_logging.py").exists()
    assert not (state_dir / "decnet-state.json").exists()  # a live deployment's files are never touched


def test_status_without_daemon_is_one_line(tmp_path):
    result = inv("status", state_dir=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: the Docker daemon does not answer; start it (scripts/dockerd-up.sh) and try again"]


def test_corrupt_state_is_reported_not_raised(tmp_path):
    (tmp_path / "decnet-state.json").write_text("{oops")
    result = inv("teardown", "--decky", "web-01", state_dir=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is corrupt" in result.stderr and "inv teardown" in result.stderr


def test_every_task_has_help():
    for name in ("deploy", "status", "logs", "teardown", "restore", "install-service", "validate", "base-image", "lan",
                 "demo", "bench", "test"):
        result = subprocess.run([*INV, name, "--help"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and "Docstring:" in result.stdout, name


def test_ipvlan_dry_run_prints_the_ipvlan_host_commands(tmp_path):
    config = tmp_path / "x.yml"
    config.write_text(GOOD.replace("driver: macvlan", "driver: ipvlan"))
    result = inv("deploy", "--dry-run", "--config", str(config), state_dir=tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "1. network   decnet-demo: ipvlan on dn-lan0" in result.stdout
    commands = result.stdout.split("Host commands of step 2 (host-shim.sh --print):\n")[1].splitlines()
    assert commands[0] == "  ip link add dn-demo link dn-lan0 type ipvlan mode l2"
    assert "  ip addr add 10.213.0.3/32 dev dn-demo" in commands
    assert [c for c in commands if "route" in c] == [
        f"  ip route replace {ip}/32 dev dn-demo src 10.213.0.3"
        for ip in ("10.213.0.10", "10.213.0.11", "10.213.0.65", "10.213.0.66")]
    state = json.loads((tmp_path / "state" / "dry-run" / "decnet-state.json").read_text())
    assert state["network"]["driver"] == "ipvlan"


def test_shipped_examples_are_valid(tmp_path):
    for example in sorted((REPO / "examples").glob("*.yml")):
        result = inv("validate", "--config", str(example), state_dir=tmp_path)
        assert result.returncode == 0 and result.stdout.startswith("ok: "), (example, result.stderr)
