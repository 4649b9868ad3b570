"""SASL PLAIN in the mail decoys (shared decoding in decnet_tcp), driven by Python's real
clients against the servers run as processes on loopback."""
import base64
import imaplib
import os
import poplib
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
sys.path.insert(0, str(TEMPLATES))
import decnet_tcp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def decoy():
    procs = []

    def start(service: str) -> int:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(TEMPLATES), f"DECNET_{service.upper()}_PORT": str(port),
               "DECNET_DECKY": "t1", "DECNET_SERVICE": service, "DECNET_HOSTNAME": "mail01"}
        proc = subprocess.Popen([sys.executable, "-u", str(TEMPLATES / "services" / service / "server.py")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{service} did not listen")

    def output() -> str:
        for proc in procs:
            proc.terminate()
        return "".join(proc.communicate(timeout=10)[0] for proc in procs)
    start.output = output
    yield start
    for proc in procs:
        proc.kill()


def plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_shared_sasl_decoding():
    assert decnet_tcp.sasl_plain(plain("bob", "pw")) == ("", "bob", "pw")
    assert decnet_tcp.sasl_plain("not base64!") is None
    assert decnet_tcp.sasl_plain(base64.b64encode(b"only-one-part").decode()) is None
    assert decnet_tcp.sasl_base64("=") == b""


def test_smtp_auth_plain(decoy):
    port = decoy("smtp")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.ehlo("x")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("carol", "pw-c")
    assert 'mechanism="PLAIN" username="carol" password="pw-c"' in decoy.output()


def test_imap_authenticate_plain(decoy):
    port = decoy("imap")
    client = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    with pytest.raises(imaplib.IMAP4.error):
        client.authenticate("PLAIN", lambda _: f"\0dave\0pw-d".encode())
    assert 'mechanism="PLAIN" username="dave" password="pw-d"' in decoy.output()


def test_pop3_auth_plain(decoy):
    port = decoy("pop3")
    client = poplib.POP3("127.0.0.1", port, timeout=5)
    with pytest.raises(poplib.error_proto):
        client._shortcmd(f"AUTH PLAIN {plain('erin', 'pw-e')}")
    assert 'mechanism="PLAIN" username="erin" password="pw-e"' in decoy.output()
