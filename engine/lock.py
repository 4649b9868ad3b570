"""One lock per state directory: commands that change things never interleave."""
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from generators.errors import DecnetError

from . import paths


class LockError(DecnetError):
    """Another decnet command holds the state directory."""


@contextmanager
def state_lock(what: str, timeout: float | None = None, path: Path | None = None):
    """Hold the state directory's lock for `what`; wait at most `timeout` seconds for it.
    The kernel drops it when the holder dies, even by SIGKILL."""
    path = path or paths.lock_file()
    timeout = float(os.environ.get("DECNET_LOCK_TIMEOUT", "30")) if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another decnet command"
                    raise LockError(f"{paths.state_dir()} is busy: {holder} holds its lock (waited {timeout:.0f} s); "
                                    "wait for it to finish, or raise DECNET_LOCK_TIMEOUT") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({what})".encode(), 0)
        yield
    finally:
        os.close(fd)
