"""Adapter for the `docker compose` CLI: run it, read its stderr, retry what is transient."""
import os
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from retrying import Retrying

from generators.errors import DecnetError

# Lower-case stderr fragments. A bare "not found" is deliberately absent: it matches
# "command not found" in build logs and races such as "No such container".
PERMANENT = {
    "pull access denied": "an image is missing and would have to be pulled; build it locally (inv base-image) or fix the image name",
    "repository does not exist": "an image is missing and would have to be pulled; build it locally (inv base-image) or fix the image name",
    "manifest unknown": "the image tag does not exist; build it locally (inv base-image) or fix the tag",
    "no basic auth credentials": "an image would have to come from a registry that needs a login; build it locally instead",
    "no such image": "a local image is missing; run 'inv base-image' and deploy again",
    "returned a non-zero code": "a service image failed to build; read the build output above and fix its Dockerfile",
    "failed to solve": "a service image failed to build; read the build output above and fix its Dockerfile",
    "executor failed running": "a service image failed to build; read the build output above and fix its Dockerfile",
    "pool overlaps with other one": "another Docker network uses this subnet; remove it or change network.subnet",
    "device or resource busy": "the parent interface already carries another macvlan/ipvlan kind; run 'inv teardown' or use another interface",
    "has incorrect label": "a network of that name was not made by this compose project; run 'inv teardown' and deploy again",
    "address already in use": "a decky address is taken on the Docker network; run 'inv teardown' or change the address",
}
TRANSIENT = (
    "cannot connect to the docker daemon", "failed to connect to the docker api",
    "connection reset by peer", "unexpected eof", "i/o timeout", "tls handshake timeout",
    "client.timeout exceeded", "502 bad gateway", "connection refused", "no such host",
    "toomanyrequests", "context deadline exceeded", "timed out", "timeout",
)
PERMANENT_EXIT_CODES = {14: "compose file not found", 15: "compose file does not parse", 16: "compose command syntax"}


class ComposeError(DecnetError):
    """docker compose failed for good (permanent cause, or retries used up)."""


class TransientComposeError(ComposeError):
    """A failure worth another attempt."""


@dataclass(frozen=True)
class Verdict:
    permanent: bool
    reason: str       # short cause, e.g. "no such image" or "connection reset by peer"
    line: str         # the stderr line that shows it
    fix: str = ""


def meaningful_lines(stderr: str) -> list[str]:
    """Stderr without compose's warning noise."""
    return [ln.strip() for ln in stderr.splitlines()
            if ln.strip() and not (ln.lstrip().startswith('time="') and "level=warning" in ln)]


def classify(returncode: int, stderr: str) -> Verdict:
    lines = meaningful_lines(stderr)
    if returncode in PERMANENT_EXIT_CODES:
        return Verdict(True, PERMANENT_EXIT_CODES[returncode], lines[-1] if lines else "",
                       "regenerate it with 'inv deploy' (a bug if it persists)")
    for line in reversed(lines):  # the last line that names a cause decides
        low = line.lower()
        for marker, fix in PERMANENT.items():
            if marker in low:
                return Verdict(True, marker, line, fix)
        for marker in TRANSIENT:
            if marker in low:
                return Verdict(False, marker, line)
    # Unknown failures are retried (bounded): the daemon is the usual suspect.
    return Verdict(False, f"exit code {returncode}", lines[-1] if lines else "(no output)")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait_ms: int = 1000
    max_wait_ms: int = 15000

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        env = os.environ
        return cls(attempts=int(env.get("DECNET_RETRY_ATTEMPTS", cls.attempts)),
                   first_wait_ms=int(env.get("DECNET_RETRY_WAIT_MS", cls.first_wait_ms)),
                   max_wait_ms=int(env.get("DECNET_RETRY_MAX_WAIT_MS", cls.max_wait_ms)))


def _command(project: str, compose_file: Path, args: list[str]) -> list[str]:
    return ["docker", "compose", "-p", project, "-f", str(compose_file), *args]


def _run(cmd: list[str], echo: bool) -> tuple[int, str]:
    """Run, streaming its output to our stderr (build progress) while keeping the tail."""
    env = {**os.environ, "COMPOSE_PROGRESS": os.environ.get("COMPOSE_PROGRESS", "plain")}
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                text=True, env=env)
    except FileNotFoundError:
        raise ComposeError("the docker CLI is not installed; run scripts/setup.sh") from None
    tail: deque[str] = deque(maxlen=200)
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line)
        if echo:
            sys.stderr.write(f"  | {line}")
            sys.stderr.flush()
    return proc.wait(), "".join(tail)


def compose(project: str, compose_file: Path, args: list[str], echo: bool = False) -> None:
    """One attempt (`_compose` in the seed): used by teardown, where retries matter less."""
    cmd = _command(project, compose_file, args)
    code, stderr = _run(cmd, echo)
    if code != 0:
        v = classify(code, stderr)
        raise (ComposeError if v.permanent else TransientComposeError)(_describe(args, v))


def compose_with_retry(project: str, compose_file: Path, args: list[str], policy: RetryPolicy | None = None,
                       echo: bool = True, report=print) -> None:
    """`_compose_with_retry`: exponential backoff on transient failures, stop at permanent ones."""
    policy = policy or RetryPolicy.from_env()
    attempt = 0

    def once() -> None:
        nonlocal attempt
        attempt += 1
        try:
            compose(project, compose_file, args, echo=echo)
        except TransientComposeError as exc:
            tail = " (giving up)" if attempt >= policy.attempts else ", retrying"
            report(f"attempt {attempt}/{policy.attempts} failed: {exc}{tail}")
            raise
        except ComposeError as exc:
            report(f"attempt {attempt}/{policy.attempts} failed permanently: {exc}")
            raise

    try:
        Retrying(stop_max_attempt_number=policy.attempts,
                 wait_exponential_multiplier=policy.first_wait_ms,
                 wait_exponential_max=policy.max_wait_ms,
                 retry_on_exception=lambda e: isinstance(e, TransientComposeError)).call(once)
    except TransientComposeError as exc:
        raise ComposeError(f"{exc} (after {attempt} attempts); check that dockerd runs ('docker info') and deploy again") from None


def _describe(args: list[str], v: Verdict) -> str:
    what = f"docker compose {args[0]}" if args else "docker compose"
    kind = "permanent" if v.permanent else "transient"
    text = f"{what} failed ({kind}: {v.reason}): {v.line}"
    return f"{text}; {v.fix}" if v.fix else text
