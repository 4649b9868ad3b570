"""Issue 4 on the real engine: faults injected for real (wrappers on PATH, a stopped daemon,
SIGKILL), ownership, state, locking, convergence and preflight. Each test is named after
what it proves, and every failed deploy is followed by a teardown that must leave nothing."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.lock import state_lock

from . import lab
from .lab import probe

FAKES = Path(__file__).resolve().parents[1] / "fakes"
FAULTY_DOCKER, FAULTY_IP = FAKES / "faulty-docker", FAKES / "faulty-ip"
A, B, C = "10.213.1.30", "10.213.1.31", "10.213.1.32"


def config(deckies: dict[str, str], services=("ssh", "http"), name="rel") -> str:
    lines = [f"  - {{name: {d}, ip: {ip}, services: [{', '.join(services)}]}}" for d, ip in deckies.items()]
    return (f"name: {name}\nnetwork: {{interface: dn-e2elan0, subnet: 10.213.1.0/24, gateway: 10.213.1.1, "
            f"host_ip: 10.213.1.3}}\ndeckies:\n" + "\n".join(lines) + "\n")


@pytest.fixture
def rel(cli, tmp_path, request):
    """A CLI whose deployment 'rel' is always torn down after the test, and checked for leftovers."""
    def write(deckies, **kw) -> str:
        path = tmp_path / f"rel-{len(list(tmp_path.glob('rel-*.yml')))}.yml"
        path.write_text(config(deckies, **kw))
        return str(path)
    cli.write = write
    request.addfinalizer(lambda: cli("teardown", check=False, env={"PATH": os.environ["PATH"]}))
    return cli


def faulty_env(tmp_path, match: str, action: str, times: int = 1) -> dict:
    fault_dir = tmp_path / "fault"
    fault_dir.mkdir(exist_ok=True)
    return {"PATH": f"{FAULTY_DOCKER}:{os.environ['PATH']}", "FAULT_DIR": str(fault_dir), "FAULT_MATCH": match,
            "FAULT_ACTION": action, "FAULT_TIMES": str(times)}


def assert_nothing_left(cli, deployment="rel", ips=(A, B, C)):
    assert lab.containers(deployment) == []
    assert lab.sh("ip", "link", "show", "dev", f"dn-{deployment}", check=False).returncode != 0
    routes = lab.sh("ip", "-4", "route", "show").stdout
    assert not any(f"{ip} " in routes for ip in ips), routes
    assert lab.sh("docker", "network", "ls", "-q", "--filter", f"name=decnet-{deployment}").stdout.strip() == ""
    assert not cli.state_file.exists()


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- faults -----------------------------------------------------------------------------

def test_two_transient_compose_failures_in_a_row_still_end_in_a_working_fleet(rel, tmp_path):
    env = faulty_env(tmp_path, "compose up", "text:1:read tcp 10.0.0.1:2375: read: connection reset by peer", 2)
    result = rel("deploy", "--config", rel.write({"a": A}), env=env)
    assert "attempt 1/4 failed: docker compose up failed (transient: connection reset by peer)" in result.stderr
    assert "attempt 2/4 failed" in result.stderr and "attempt 3/4" not in result.stderr
    assert "SSH-2.0-" in probe(A, 22)


def test_permanent_failure_stops_at_the_first_attempt_naming_the_image_and_the_fix(rel, tmp_path):
    env = faulty_env(tmp_path, "compose build", "text:1:Error response from daemon: No such image: decnet-svc-ssh:latest")
    started = time.monotonic()
    result = rel("deploy", "--config", rel.write({"a": A}), "--no-cache", env=env, check=False)   # forces a build
    assert time.monotonic() - started < 20
    line = one_error_line(result)
    assert "No such image: decnet-svc-ssh:latest" in line and "inv base-image" in line
    assert result.stderr.count("attempt ") == 1
    rel("teardown")
    assert_nothing_left(rel)


@pytest.mark.parametrize("step", ["network", "shim", "build", "up", "crash"])
def test_a_deploy_failing_at_any_step_is_torn_down_completely(rel, tmp_path, step):
    env = {"DECNET_RETRY_ATTEMPTS": "2"}
    if step == "network":   # another Docker network already holds the subnet
        lab.sh("docker", "network", "create", "--subnet", "10.213.1.0/24", "rel-blocker")
    elif step == "shim":    # the kernel refuses the host routes
        env["PATH"] = f"{FAULTY_IP}:{os.environ['PATH']}"
    elif step == "build":
        env |= faulty_env(tmp_path, "compose build", "text:1:The command '/bin/sh -c false' returned a non-zero code: 1")
    elif step == "up":
        env |= faulty_env(tmp_path, "compose up", "text:1:unexpected EOF", times=9)
    elif step == "crash":   # a service dies right after it started
        env |= faulty_env(tmp_path, "compose up", "kill-after:rel-a-http-1") | {"DECNET_READY_TIMEOUT": "15"}
    try:   # --no-cache: a build always runs, even when the images are up to date
        result = rel("deploy", "--config", rel.write({"a": A, "b": B}), *(["--no-cache"] if step == "build" else []),
                     env=env, check=False)
    finally:
        lab.sh("docker", "network", "rm", "rel-blocker", check=False)
    line = one_error_line(result)
    print(f"\n{step}: {line}")
    if step == "crash":
        assert "a/http (exited)" in line
    rel("teardown")
    assert_nothing_left(rel)


def test_a_deploy_killed_with_sigkill_half_way_is_recoverable(rel, tmp_path):
    path = rel.write({"a": A, "b": B, "c": C})
    env = {**os.environ, "DECNET_STATE_DIR": str(rel.state_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "--search-root", str(lab.REPO), "deploy", "--config", path],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not lab.containers("rel") and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)   # inv and its docker compose child, mid-flight
    proc.wait()
    assert lab.containers("rel"), "the deploy never got as far as creating containers"
    rel("teardown", env={"DECNET_LOCK_TIMEOUT": "2"})   # the dead deploy's lock is gone with it
    assert_nothing_left(rel)


@pytest.fixture
def restart_daemon():
    yield
    lab.script("dockerd-up.sh")


def stop_daemon():
    lab.sh("pkill", "-x", "dockerd", check=False)
    deadline = time.monotonic() + 30
    while lab.sh("pgrep", "-x", "dockerd", check=False).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_stopped_daemon_gives_one_line_and_the_same_commands_work_once_it_is_back(rel, restart_daemon):
    path = rel.write({"a": A})
    stop_daemon()
    for args in (["status"], ["deploy", "--config", path], ["teardown"]):
        line = one_error_line(rel(*args, check=False))
        assert "the Docker daemon does not answer; start it" in line, (args, line)
    assert not rel.state_file.exists()   # nothing half-written
    lab.script("dockerd-up.sh")
    rel("deploy", "--config", path)
    assert rel.status()["deckies"][0]["status"] == "up"
    rel("teardown")
    assert_nothing_left(rel)


def test_the_daemon_dying_during_a_deploy_fails_clearly_and_a_rerun_converges(rel, tmp_path, restart_daemon):
    path = rel.write({"a": A})
    env = faulty_env(tmp_path, "compose up", "kill-daemon") | {"DECNET_RETRY_ATTEMPTS": "2"}
    line = one_error_line(rel("deploy", "--config", path, env=env, check=False))
    assert "check that dockerd runs" in line or "does not answer" in line, line
    lab.script("dockerd-up.sh")
    rel("deploy", "--config", path)
    assert "SSH-2.0-" in probe(A, 22)
    rel("teardown")
    assert_nothing_left(rel)


# --- ownership and state ----------------------------------------------------------------

@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_status_and_teardown_work_from_labels_without_a_usable_state(rel, damage):
    rel("deploy", "--config", rel.write({"a": A, "b": B}))
    if damage == "deleted":
        rel.state_file.unlink()
    else:
        rel.state_file.write_text('{"schema_version": 1, "deployment": ')
    result = rel("status", "--json")
    assert "found by its labels" in result.stderr
    if damage == "corrupted":
        assert "is corrupt" in result.stderr
    report = __import__("json").loads(result.stdout)
    assert [(d["name"], d["status"]) for d in report["deckies"]] == [("a", "up"), ("b", "up")]
    rel("teardown")
    assert_nothing_left(rel)


def test_teardown_never_removes_what_is_not_ours_even_on_the_same_parent(rel):
    lab.sh("docker", "network", "create", "--subnet", "10.213.2.0/24", "foreign-net")
    lab.sh("docker", "run", "-d", "--name", "foreign-box", "--network", "foreign-net", "--pull", "never",
           "decnet-base:latest", "sleep", "infinity")
    lab.sh("docker", "run", "-d", "--name", "other-deployment", "--label", "decnet.deployment=other",
           "--network", "none", "--pull", "never", "decnet-base:latest", "sleep", "infinity")
    lab.sh("ip", "link", "add", "dn-foreign0", "link", "dn-e2elan0", "type", "macvlan", "mode", "bridge")
    try:
        rel("deploy", "--config", rel.write({"a": A}))
        rel("teardown")
        assert_nothing_left(rel)
        for box in ("foreign-box", "other-deployment"):
            assert lab.sh("docker", "inspect", "-f", "{{.State.Running}}", box).stdout.strip() == "true"
        assert lab.sh("docker", "network", "inspect", "foreign-net", check=False).returncode == 0
        assert lab.sh("ip", "link", "show", "dev", "dn-foreign0", check=False).returncode == 0
    finally:
        lab.sh("docker", "rm", "-f", "foreign-box", "other-deployment", check=False)
        lab.sh("docker", "network", "rm", "foreign-net", check=False)
        lab.sh("ip", "link", "del", "dn-foreign0", check=False)


def test_preflight_refuses_a_parent_that_another_docker_network_uses(rel):
    lab.sh("docker", "network", "create", "-d", "macvlan", "-o", "parent=dn-e2elan0", "--subnet", "10.213.2.0/24",
           "foreign-macvlan")
    try:
        line = one_error_line(rel("deploy", "--config", rel.write({"a": A}), check=False))
        assert line == ("error: Docker network foreign-macvlan already uses dn-e2elan0 as its parent; one interface "
                        "carries one macvlan/ipvlan network: remove that network or use another interface")
        assert_nothing_left(rel)
        rel("teardown")
        assert lab.sh("docker", "network", "inspect", "foreign-macvlan", check=False).returncode == 0
    finally:
        lab.sh("docker", "network", "rm", "foreign-macvlan", check=False)


def test_a_second_command_waits_a_bounded_time_for_the_lock_then_says_who_holds_it(rel):
    with state_lock("test holder", path=rel.state_dir / ".lock"):
        started = time.monotonic()
        line = one_error_line(rel("teardown", check=False, env={"DECNET_LOCK_TIMEOUT": "1"}))
        assert 1 <= time.monotonic() - started < 10
        assert f"is busy: pid {os.getpid()} (test holder) holds its lock" in line

    def release_soon(held: threading.Event):
        with state_lock("short holder", path=rel.state_dir / ".lock"):
            held.set()
            time.sleep(1)
    held = threading.Event()
    thread = threading.Thread(target=release_soon, args=(held,))
    thread.start()
    held.wait()
    rel("teardown", env={"DECNET_LOCK_TIMEOUT": "10"})   # waits, then runs
    thread.join()


# --- convergence ------------------------------------------------------------------------

def test_adding_and_removing_deckies_changes_only_those_and_the_rest_never_stops_answering(rel):
    rel("deploy", "--config", rel.write({"a": A, "b": B}))
    before = lab.container_ids("rel")
    failures, probes, stop = [], [0], threading.Event()

    def keep_probing():
        while not stop.is_set():
            probes[0] += 1
            if "Server: Apache" not in probe(A, 80, "HEAD / HTTP/1.0\\r\\n\\r\\n", check=False):
                failures.append(time.monotonic())
            time.sleep(0.05)
    thread = threading.Thread(target=keep_probing)
    thread.start()
    try:
        rel("deploy", "--config", rel.write({"a": A, "c": C}))
    finally:
        stop.set()
        thread.join()
    after = lab.container_ids("rel")
    assert {k: v for k, v in after.items() if "-a-" in k or k == "rel-a-1"} == \
           {k: v for k, v in before.items() if "-a-" in k or k == "rel-a-1"}
    assert not any("-b-" in k or k == "rel-b-1" for k in after)
    assert probes[0] > 5 and failures == []
    assert "SSH-2.0-" in probe(C, 22)
    routes = lab.sh("ip", "-4", "route", "show", "dev", "dn-rel").stdout
    assert B not in routes and C in routes and A in routes


# --- preflight --------------------------------------------------------------------------

def test_preflight_refuses_a_parent_that_is_down(rel):
    lab.sh("ip", "link", "set", "dev", "dn-e2elan0", "down")
    try:
        line = one_error_line(rel("deploy", "--config", rel.write({"a": A}), check=False))
    finally:
        lab.sh("ip", "link", "set", "dev", "dn-e2elan0", "up")
    assert line == "error: network.interface dn-e2elan0 is down; bring it up with 'ip link set dev dn-e2elan0 up'"
    assert_nothing_left(rel)


def test_preflight_refuses_without_cap_net_admin(rel):
    path = rel.write({"a": A})
    result = lab.sh("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", sys.executable, "-m", "invoke",
                    "--search-root", str(lab.REPO), "deploy", "--config", path, check=False,
                    env={"DECNET_STATE_DIR": str(rel.state_dir)})
    assert one_error_line(result) == ("error: deploy needs CAP_NET_ADMIN (it creates interfaces, routes and "
                                      "networks); run it as root or with sudo")
    assert_nothing_left(rel)


def test_preflight_refuses_an_address_that_already_answers_on_the_lan_unless_allowed(rel):
    taken = lab.ATTACKER_IP   # the attacker namespace answers ARP for its own address
    line = one_error_line(rel("deploy", "--config", rel.write({"a": A, "x": taken}), check=False))
    assert line.startswith(f"error: address {taken} already answers on dn-e2elan0 (MAC ")
    assert line.endswith("pick free addresses, or deploy with --allow-taken")
    assert_nothing_left(rel)
