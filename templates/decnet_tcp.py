"""Shared scaffolding of DECNET's TCP decoys (synced into every build context, like
decnet_logging.py): a threaded server with a connection cap, connect/disconnect events,
a bounded line reader, and a clean exit on SIGTERM. Standard library only.

A service subclasses `Session`, implements `run()`, and calls `serve(MySession, port)`."""
import base64
import binascii
import os
import signal
import socket
import socketserver
import sys
import threading
import time

from decnet_logging import log_event

MAX_CONNECTIONS = 512
MAX_LINE = 4096
MAX_LOGGED = 1024


def clip(value, limit=MAX_LOGGED):
    """Bound what one log field may hold."""
    value = value if isinstance(value, str) else str(value)
    return value if len(value) <= limit else value[:limit] + "..."


def text(data):
    """Bytes from the wire as text; undecodable bytes stay visible as escapes."""
    return data.decode("utf-8", "backslashreplace")


def sasl_base64(response):
    """The bytes of a base64 SASL response ('=' is the empty one); None when it is not base64."""
    response = response.strip()
    if response == "=":
        return b""
    try:
        return base64.b64decode(response, validate=True)
    except (binascii.Error, ValueError):
        return None


def sasl_plain(response):
    """(authzid, username, password) of an AUTH PLAIN response, or None when it is malformed."""
    decoded = sasl_base64(response)
    parts = decoded.split(b"\x00") if decoded is not None else []
    return tuple(text(p) for p in parts) if len(parts) == 3 else None


def plain_auth_fields(response):
    """The fields of the auth event an AUTH PLAIN response makes (the raw response when malformed)."""
    plain = sasl_plain(response)
    if plain is None:
        return {"mechanism": "PLAIN", "username": "", "password": "", "raw": response}
    authzid, username, password = plain
    return {"mechanism": "PLAIN", "username": username, "password": password,
            **({"authzid": authzid} if authzid else {})}


def env(name, default):
    """A persona setting from the environment (DECNET_<SERVICE>_<KEY>), or its default."""
    return os.environ.get(name) or default


class Session(socketserver.BaseRequestHandler):
    """One client connection. Subclasses implement run(); the rest is handled here."""

    idle_timeout = 300

    def setup(self):
        self.src_ip, self.src_port = self.client_address[0], self.client_address[1]
        self.started = time.monotonic()
        self.reason = "closed"
        self.buffer = b""
        self.request.settimeout(self.idle_timeout)
        log_event("connect", self.src_ip, self.src_port)

    def finish(self):
        log_event("disconnect", self.src_ip, self.src_port, reason=self.reason,
                  duration="%.3f" % (time.monotonic() - self.started))

    def handle(self):
        try:
            self.run()
        except socket.timeout:
            self.reason = "idle_timeout"
        except (ConnectionError, OSError):
            self.reason = "connection_error"
        except Exception as exc:  # a decoy never dies on a client
            self.reason = "error:" + type(exc).__name__

    def run(self):
        raise NotImplementedError

    # --- helpers for subclasses -----------------------------------------------------
    def log(self, msgid, severity="info", **fields):
        log_event(msgid, self.src_ip, self.src_port, severity=severity,
                  **{k: clip(v) for k, v in fields.items()})

    def send(self, data):
        self.request.sendall(data if isinstance(data, bytes) else data.encode("utf-8", "replace"))

    def send_line(self, text, eol="\r\n"):
        self.send(text + eol)

    def recv_exact(self, n):
        """Exactly n bytes (from the buffer first), or None at EOF."""
        while len(self.buffer) < n:
            chunk = self.request.recv(max(4096, n - len(self.buffer)))
            if not chunk:
                self.reason = "client_closed"
                return None
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_some(self, limit=65536):
        """Whatever arrives next (buffer first), or b"" at EOF."""
        if self.buffer:
            data, self.buffer = self.buffer[:limit], self.buffer[limit:]
            return data
        return self.request.recv(limit)

    def read_line(self, limit=MAX_LINE):
        """One line without its CR/LF, as bytes, or None at EOF. Overlong lines are cut."""
        while True:
            idx = self.buffer.find(b"\n")
            if idx >= 0:
                line, self.buffer = self.buffer[:idx], self.buffer[idx + 1:]
                return line[:limit].rstrip(b"\r")
            if len(self.buffer) > limit:
                line, self.buffer = self.buffer[:limit], b""
                self._discard_to_newline()
                return line
            chunk = self.request.recv(4096)
            if not chunk:
                if self.buffer:
                    line, self.buffer = self.buffer, b""
                    return line.rstrip(b"\r")
                self.reason = "client_closed"
                return None
            self.buffer += chunk

    def read_text_line(self, limit=MAX_LINE):
        line = self.read_line(limit)
        return None if line is None else line.decode("utf-8", "backslashreplace")

    def _discard_to_newline(self):
        while True:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            idx = chunk.find(b"\n")
            if idx >= 0:
                self.buffer = chunk[idx + 1:]
                return


class DecoyServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, wrap=None):
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.wrap = wrap     # optional socket wrapper (TLS)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            log_event("connect", client_address[0], client_address[1], severity="warning", msg="connection limit reached")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            if self.wrap is not None:
                request = self.wrap(request)
            super().process_request_thread(request, client_address)
        except Exception:
            self.shutdown_request(request)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        pass  # never print tracebacks; sessions log their own end


def _terminate(signum, frame):
    sys.exit(0)


def serve(handler, port, wrap=None):
    """Listen on 0.0.0.0:port forever; exit cleanly on SIGTERM/SIGINT."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    with DecoyServer(("0.0.0.0", port), handler, wrap=wrap) as server:
        server.serve_forever()
