#!/usr/bin/env python3
"""DECNET ftp decoy: a vsftpd look-alike control channel that records and refuses logins.

Standard library only. Listens on 0.0.0.0:21 (``DECNET_FTP_PORT`` overrides), one thread per
connection. Events (RFC 5424 on stdout, via decnet_logging): connect, auth (every PASS),
command (every other command), disconnect.
"""

import os
import signal
import socket
import socketserver
import sys
import threading
import time

for _p in ("/opt/decnet", os.path.dirname(os.path.abspath(__file__))):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from decnet_logging import log_event  # noqa: E402

BANNER = os.environ.get("DECNET_FTP_BANNER") or "(vsFTPd 3.0.3)"
PORT = int(os.environ.get("DECNET_FTP_PORT") or 21)
IDLE_TIMEOUT = 300        # vsftpd idle_session_timeout
MAX_LINE = 4096           # longer command lines are cut, the rest discarded
MAX_LOGIN_FAILS = 3       # vsftpd max_login_fails: hang up after this many
FAILED_LOGIN_DELAY = 1.0  # vsftpd delay_failed_login
MAX_CONNECTIONS = 512
MAX_LOGGED = 1024

FEATURES = ["EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"]


def _clip(value):
    return value if len(value) <= MAX_LOGGED else value[:MAX_LOGGED] + "..."


class FTPHandler(socketserver.BaseRequestHandler):

    def setup(self):
        self.src_ip, self.src_port = self.client_address[0], self.client_address[1]
        self.started = time.monotonic()
        self.username = None
        self.fails = 0
        self.commands = 0
        self.reason = "closed"
        self.buffer = b""
        log_event("connect", self.src_ip, self.src_port)

    def finish(self):
        log_event("disconnect", self.src_ip, self.src_port, reason=self.reason,
                  commands=self.commands, duration="%.3f" % (time.monotonic() - self.started))

    def reply(self, text):
        self.request.sendall(text.encode("utf-8", "replace") + b"\r\n")

    def read_line(self):
        """One command line (without CRLF), or None at EOF. Long lines are truncated."""
        while True:
            idx = self.buffer.find(b"\n")
            if idx >= 0:
                line, self.buffer = self.buffer[:idx], self.buffer[idx + 1:]
                return line[:MAX_LINE].rstrip(b"\r")
            if len(self.buffer) > MAX_LINE:
                # keep only what fits; drop the rest of the line as it arrives
                line = self.buffer[:MAX_LINE]
                self.buffer = b""
                self._discard_to_newline()
                return line
            chunk = self.request.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk

    def _discard_to_newline(self):
        while True:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            idx = chunk.find(b"\n")
            if idx >= 0:
                self.buffer = chunk[idx + 1:]
                return

    def handle(self):
        try:
            self.request.settimeout(IDLE_TIMEOUT)
            self.reply("220 " + BANNER)
            while True:
                raw = self.read_line()
                if raw is None:
                    self.reason = "client_closed"
                    return
                if not self.dispatch(raw):
                    return
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.reply("421 Timeout.")
            except Exception:
                pass
        except Exception:
            self.reason = "connection_error"

    def dispatch(self, raw):
        """Answer one command line; False ends the session."""
        # drop telnet IAC sequences some clients send before commands
        raw = raw.replace(b"\xff\xf4", b"").replace(b"\xff\xf2", b"")
        line = raw.decode("utf-8", "backslashreplace")
        verb, _, arg = line.strip(" ").partition(" ")
        cmd = verb.upper() if verb.isascii() and verb.isprintable() else verb
        if not cmd and not arg:
            return True  # vsftpd ignores empty lines
        self.commands += 1

        if cmd == "PASS":
            username = self.username
            log_event("auth", self.src_ip, self.src_port, severity="notice",
                      username=_clip(username or ""), password=_clip(arg))
            if username is None:
                self.reply("503 Login with USER first.")
                return True
            self.username = None
            self.fails += 1
            time.sleep(FAILED_LOGIN_DELAY)
            self.reply("530 Login incorrect.")
            if self.fails >= MAX_LOGIN_FAILS:
                self.reason = "too_many_login_failures"
                return False
            return True

        log_event("command", self.src_ip, self.src_port, command=_clip(cmd), arg=_clip(arg))
        if cmd == "USER":
            self.username = arg
            self.reply("331 Please specify the password.")
        elif cmd == "QUIT":
            self.reply("221 Goodbye.")
            self.reason = "quit"
            return False
        elif cmd == "SYST":
            self.reply("215 UNIX Type: L8")
        elif cmd == "FEAT":
            self.request.sendall(
                ("211-Features:\r\n" + "".join(" %s\r\n" % f for f in FEATURES) + "211 End\r\n")
                .encode("ascii"))
        elif cmd == "OPTS":
            if arg.strip().upper() == "UTF8 ON":
                self.reply("200 Always in UTF8 mode.")
            else:
                self.reply("501 Option not understood.")
        else:
            self.reply("530 Please login with USER and PASS.")
        return True


class FTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            log_event("connect", client_address[0], client_address[1])
            try:
                request.sendall(b"421 There are too many connected users, please try later.\r\n")
            except Exception:
                pass
            log_event("disconnect", client_address[0], client_address[1], reason="busy")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            self.shutdown_request(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        pass  # never print tracebacks


def _terminate(signum, frame):
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    threading.excepthook = lambda args: None
    server = FTPServer(("0.0.0.0", PORT), FTPHandler)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
