#!/usr/bin/env python3
"""DECNET ssh decoy: an OpenSSH look-alike that records every login attempt and refuses it.

Standard library + paramiko only. Listens on 0.0.0.0:22 (``DECNET_SSH_PORT`` overrides),
one thread per connection. Events (RFC 5424 on stdout, via decnet_logging):
connect, auth (password, keyboard-interactive and public-key attempts), disconnect.
"""

import base64
import hashlib
import io
import logging
import os
import signal
import socket
import threading
import time

from decnet_logging import log_event

# paramiko logs every malformed handshake with a traceback: keep stdout/stderr to our events
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").setLevel(logging.CRITICAL + 10)
logging.getLogger("paramiko").propagate = False

import paramiko

VERSION = os.environ.get("DECNET_SSH_VERSION") or "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
if not VERSION.startswith("SSH-2.0-"):
    VERSION = "SSH-2.0-" + VERSION
PORT = int(os.environ.get("DECNET_SSH_PORT") or 22)
KEY_DIR = os.environ.get("DECNET_SSH_KEY_DIR") or "/var/lib/decnet/ssh"
LOGIN_GRACE = 120        # seconds a connection may stay unauthenticated (OpenSSH default)
MAX_AUTH_TRIES = 6       # password / keyboard-interactive attempts per connection
MAX_ATTEMPTS = 30        # all auth requests per connection (public keys included)
MAX_CONNECTIONS = 256    # concurrent connections served; more are closed at once

# Offer roughly what OpenSSH 9.2 offers: no SHA-1 host-key signatures, no CBC, no MD5.
DISABLED_ALGORITHMS = {
    "keys": ["ssh-rsa", "ssh-dss"],
    "pubkeys": ["ssh-dss"],
    "ciphers": ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"],
    "macs": ["hmac-md5", "hmac-sha1-96", "hmac-md5-96"],
    "kex": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
            "diffie-hellman-group-exchange-sha1"],
}


def _load_or_generate(name, generate, load):
    """Reuse a key kept from an earlier start of this container, else make a new one."""
    path = os.path.join(KEY_DIR, name)
    try:
        if os.path.exists(path):
            return load(path)
    except Exception:
        pass
    key = generate()
    try:
        os.makedirs(KEY_DIR, mode=0o700, exist_ok=True)
        key.write_private_key_file(path)
    except Exception:
        pass
    return key


def _generate_ed25519():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode("ascii")
    return paramiko.Ed25519Key(file_obj=io.StringIO(pem))


class HostKeys:
    """Host keys made (or loaded) in the background, so the port listens at once; a client
    that arrives first waits for them, like one reaching a freshly booted sshd."""

    def __init__(self):
        self._keys = []
        self._ready = threading.Event()
        threading.Thread(target=self._make, daemon=True).start()

    def _make(self):
        try:
            self._keys = host_keys()
        finally:
            self._ready.set()

    def __iter__(self):
        self._ready.wait()
        return iter(self._keys)


def host_keys():
    keys = [_load_or_generate("ssh_host_rsa_key",
                              lambda: paramiko.RSAKey.generate(3072),
                              paramiko.RSAKey.from_private_key_file)]
    for name, gen, load in (
        ("ssh_host_ecdsa_key", lambda: paramiko.ECDSAKey.generate(bits=256),
         paramiko.ECDSAKey.from_private_key_file),
        ("ssh_host_ed25519_key", _generate_ed25519,
         lambda p: paramiko.Ed25519Key(filename=p)),
    ):
        try:
            keys.append(_load_or_generate(name, gen, load))
        except Exception:
            pass  # RSA alone is enough to serve
    return keys


def _fingerprint(key):
    try:
        digest = hashlib.sha256(key.asbytes()).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")
    except Exception:
        return ""


class DecoyServer(paramiko.ServerInterface):
    """Accepts nothing: every authentication attempt is logged and refused."""

    def __init__(self, src_ip, src_port):
        self.src_ip = src_ip
        self.src_port = src_port
        self.password_attempts = 0
        self.attempts = 0
        self.kbd_username = ""
        self.too_many = threading.Event()

    def _count(self, password=False):
        self.attempts += 1
        if password:
            self.password_attempts += 1
        if self.password_attempts >= MAX_AUTH_TRIES or self.attempts >= MAX_ATTEMPTS:
            self.too_many.set()

    def get_allowed_auths(self, username):
        return "publickey,password,keyboard-interactive"

    def check_auth_none(self, username):
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        log_event("auth", self.src_ip, self.src_port, severity="notice",
                  method="password", username=username, password=password)
        self._count(password=True)
        return paramiko.AUTH_FAILED

    def check_auth_interactive(self, username, submethods):
        self.kbd_username = username
        query = paramiko.InteractiveQuery("", "")
        query.add_prompt("Password: ", False)
        return query

    def check_auth_interactive_response(self, responses):
        password = responses[0] if responses else ""
        log_event("auth", self.src_ip, self.src_port, severity="notice",
                  method="keyboard-interactive", username=self.kbd_username,
                  password=password)
        self._count(password=True)
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        try:
            key_type = key.get_name()
        except Exception:
            key_type = ""
        log_event("auth", self.src_ip, self.src_port, method="publickey",
                  username=username, key_type=key_type, fingerprint=_fingerprint(key))
        self._count()
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def handle(conn, addr, keys, slots):
    src_ip, src_port = addr[0], addr[1]
    started = time.monotonic()
    log_event("connect", src_ip, src_port)
    transport = None
    server = DecoyServer(src_ip, src_port)
    reason = "closed"
    try:
        if not slots.acquire(blocking=False):
            reason = "busy"
            return
        try:
            conn.settimeout(LOGIN_GRACE)
            transport = paramiko.Transport(conn, disabled_algorithms=DISABLED_ALGORITHMS)
            transport.local_version = VERSION
            transport.banner_timeout = 30
            transport.handshake_timeout = 30
            for key in keys:
                transport.add_server_key(key)
            try:
                transport.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError):
                reason = "handshake_failed"
                return
            deadline = started + LOGIN_GRACE
            while transport.is_active():
                if server.too_many.is_set():
                    reason = "too_many_auth_failures"
                    break
                if time.monotonic() >= deadline:
                    reason = "login_grace_timeout"
                    break
                server.too_many.wait(0.5)
        finally:
            slots.release()
    except Exception:
        reason = "error"
    finally:
        client_version = ""
        if transport is not None:
            try:
                client_version = transport.remote_version or ""
            except Exception:
                pass
            try:
                transport.close()
            except Exception:
                pass
        try:
            conn.close()
        except Exception:
            pass
        log_event("disconnect", src_ip, src_port, reason=reason,
                  duration="%.3f" % (time.monotonic() - started),
                  client_version=client_version, auth_attempts=server.attempts)


def _terminate(signum, frame):
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    # an uncaught error in any thread (paramiko's included) must not print or crash
    threading.excepthook = lambda args: None

    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", PORT))
    listener.listen(128)
    keys = HostKeys()
    try:
        while True:
            try:
                conn, addr = listener.accept()
            except OSError:
                time.sleep(0.05)  # e.g. EMFILE: back off, keep serving
                continue
            try:
                threading.Thread(target=handle, args=(conn, addr, keys, slots),
                                 daemon=True).start()
            except Exception:
                try:
                    conn.close()
                except Exception:
                    pass
    finally:
        listener.close()


if __name__ == "__main__":
    main()
