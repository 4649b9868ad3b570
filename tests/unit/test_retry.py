"""Retry wrapper around `docker compose`: classification, and real subprocess runs against a
fake `docker` executable on PATH that fails on cue."""
import os
import time
from pathlib import Path

import pytest

from engine.compose_cli import ComposeError, RetryPolicy, classify, compose_with_retry

FAKES = Path(__file__).resolve().parents[1] / "fakes"
FAST = RetryPolicy(attempts=4, first_wait_ms=10, max_wait_ms=50)


@pytest.mark.parametrize("code, stderr, permanent, reason", [
    (1, "pull access denied for foo, repository does not exist or may require 'docker login': denied", True,
     "pull access denied"),
    (1, "manifest for foo:1 not found: manifest unknown: manifest unknown", True, "manifest unknown"),
    (1, "Error response from daemon: No such image: decnet-base:latest", True, "no such image"),
    (1, "The command '/bin/sh -c false' returned a non-zero code: 1", True, "returned a non-zero code"),
    (1, "failed to solve: executor failed running [/bin/sh -c false]: exit code: 1", True, "failed to solve"),
    (1, 'Head "http://r/v2/x/manifests/latest": no basic auth credentials', True, "no basic auth credentials"),
    (1, "Error response from daemon: Pool overlaps with other one on this address space", True,
     "pool overlaps with other one"),
    (14, "open /x.yml: no such file or directory", True, "compose file not found"),
    (15, "yaml: line 3: did not find expected key", True, "compose file does not parse"),
    (16, "unknown flag: --bogus", True, "compose command syntax"),
    (1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", False,
     "cannot connect to the docker daemon"),
    (1, "failed to connect to the docker API at unix:///var/run/docker.sock; check if the path is correct", False,
     "failed to connect to the docker api"),
    (1, "read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer", False, "connection reset by peer"),
    (1, "unexpected EOF", False, "unexpected eof"),
    (1, "net/http: TLS handshake timeout", False, "tls handshake timeout"),
    (1, "dial tcp: lookup registry on 10.0.0.1:53: no such host", False, "no such host"),
    # A bare "not found" is not permanent: it appears in build logs and races.
    (1, "/bin/sh: 1: foo: not found\nError: No such container: abc", False, "exit code 1"),
])
def test_classify(code, stderr, permanent, reason):
    verdict = classify(code, stderr)
    assert (verdict.permanent, verdict.reason) == (permanent, reason)


def test_warning_lines_are_noise():
    verdict = classify(1, 'time="x" level=warning msg="pull access denied"\nunexpected EOF')
    assert verdict.reason == "unexpected eof" and not verdict.permanent


def test_the_last_line_that_names_a_cause_decides():
    log = "Step 3/5 : RUN thing\naddress already in use (from a test in the build log)\nunexpected EOF"
    assert classify(1, log).reason == "unexpected eof"


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_DIR", str(tmp_path))

    def run(plan: str, policy: RetryPolicy = FAST):
        monkeypatch.setenv("FAKE_DOCKER_PLAN", plan)
        messages: list[str] = []
        error = None
        started = time.monotonic()
        try:
            compose_with_retry("lab", tmp_path / "c.yml", ["up", "-d"], policy=policy, echo=False,
                               report=messages.append)
        except ComposeError as exc:
            error = exc
        calls = (tmp_path / "calls").read_text().splitlines()
        return error, messages, calls, time.monotonic() - started
    return run


def test_two_transient_failures_then_success(fake_docker):
    error, messages, calls, _ = fake_docker("1:read: connection reset by peer|1:unexpected EOF|ok")
    assert error is None and len(calls) == 3
    assert calls[0] == "compose -p lab -f " + calls[0].split(" -f ")[1].split()[0] + " up -d"
    assert messages[0].startswith("attempt 1/4 failed: docker compose up failed (transient: connection reset by peer)")
    assert messages[1].startswith("attempt 2/4 failed") and messages[1].endswith(", retrying")


def test_permanent_failure_stops_at_first_attempt(fake_docker):
    error, messages, calls, elapsed = fake_docker("1:Error response from daemon: No such image: decnet-base:latest")
    assert len(calls) == 1 and elapsed < 5
    assert "permanent: no such image" in str(error) and "inv base-image" in str(error)
    assert messages == [f"attempt 1/4 failed permanently: {error}"]


def test_compose_exit_code_15_is_permanent(fake_docker):
    error, _, calls, _ = fake_docker("15:yaml: line 1: mapping values are not allowed here")
    assert len(calls) == 1 and "compose file does not parse" in str(error)


def test_transient_failures_are_bounded(fake_docker):
    error, messages, calls, _ = fake_docker("1:unexpected EOF")
    assert len(calls) == 4 and "after 4 attempts" in str(error)
    assert messages[-1].endswith("(giving up)")


def test_backoff_grows_exponentially(fake_docker):
    _, _, _, elapsed = fake_docker("1:unexpected EOF|1:unexpected EOF|ok",
                                   RetryPolicy(attempts=3, first_wait_ms=100, max_wait_ms=10_000))
    assert elapsed >= 0.2 + 0.4  # 2^1 * 100 ms, then 2^2 * 100 ms
