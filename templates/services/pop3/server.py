#!/usr/bin/env python3
"""DECNET pop3 decoy: a Dovecot (Debian) pop3-login look-alike that records and refuses logins.

Standard library only, built on decnet_tcp. Listens on 0.0.0.0:110 (``DECNET_POP3_PORT``
overrides). Every USER/PASS pair, AUTH PLAIN exchange and APOP attempt is logged as
``auth`` and refused the way Dovecot refuses it; other commands are logged as ``command``.

Setting: ``DECNET_POP3_BANNER``, the greeting after ``+OK `` (default
``Dovecot (Debian) ready.``).
"""

import socket
import time

from decnet_tcp import Session, env, plain_auth_fields, serve, text

BANNER = env("DECNET_POP3_BANNER", "Dovecot (Debian) ready.")
PORT = int(env("DECNET_POP3_PORT", "110"))

LOGIN_TIMEOUT = 180        # Dovecot drops a client not logged in after 3 minutes
MAX_BAD_COMMANDS = 3       # pop3-login CLIENT_MAX_BAD_COMMANDS
AUTH_FAILURE_DELAY = 2.0   # auth_failure_delay
MAX_INPUT_LINE = 4096      # pop3-login input buffer
MECHANISMS = ["PLAIN"]     # auth_mechanisms = plain

CAPABILITIES = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "USER",
                "SASL " + " ".join(MECHANISMS)]
AUTH_FAILED = "-ERR [AUTH] Authentication failed."


class POP3Session(Session):

    idle_timeout = LOGIN_TIMEOUT

    def run(self):
        self.deadline = time.monotonic() + LOGIN_TIMEOUT
        self.last_user = None
        self.bad = 0
        try:
            self.send_line("+OK " + BANNER)
            while True:
                raw = self.next_line()
                if raw is None:
                    return
                if len(raw) >= MAX_INPUT_LINE - 1:
                    self.log("command", command="(overlong)", arg=text(raw[:128]))
                    self.send_line("-ERR Input buffer full, aborting")
                    self.reason = "input_buffer_full"
                    return
                if not self.dispatch(text(raw)):
                    return
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.send_line("-ERR Disconnected for inactivity.")
            except OSError:
                pass

    def next_line(self):
        """A line, read within what is left of the login timeout."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.request.settimeout(left)
        return self.read_line(MAX_INPUT_LINE)

    def dispatch(self, line):
        """Answer one command line; False ends the session."""
        name, _, args = line.partition(" ")
        cmd = name.upper() if name.isascii() else name
        handler = getattr(self, "cmd_" + cmd, None) if cmd.isalpha() and cmd.isascii() else None
        if cmd not in ("PASS", "AUTH", "APOP"):
            self.log("command", command=cmd, arg=args)
        if handler is None:
            self.send_line("-ERR Unknown command.")
            self.bad += 1
            if self.bad >= MAX_BAD_COMMANDS:
                self.send_line("-ERR Too many invalid bad commands.")
                self.reason = "too_many_bad_commands"
                return False
            return True
        self.bad = 0
        return handler(args) is not False

    def fail(self, **fields):
        self.log("auth", severity="notice", **fields)
        time.sleep(AUTH_FAILURE_DELAY)
        self.send_line(AUTH_FAILED)

    # --- commands ------------------------------------------------------------------
    def cmd_CAPA(self, args):
        self.send("+OK\r\n" + "".join(c + "\r\n" for c in CAPABILITIES) + ".\r\n")

    def cmd_USER(self, args):
        self.last_user = args
        self.send_line("+OK")

    def cmd_PASS(self, args):
        if self.last_user is None:
            self.log("auth", severity="notice", mechanism="USER", username="", password=args)
            self.send_line("-ERR No username given.")
            return
        username, self.last_user = self.last_user, None
        self.fail(mechanism="USER", username=username, password=args)

    def cmd_APOP(self, args):
        username, _, digest = args.partition(" ")
        self.log("auth", severity="notice", mechanism="APOP", username=username, digest=digest)
        self.send_line("-ERR APOP not enabled.")

    def cmd_AUTH(self, args):
        mech, _, initial = args.partition(" ")
        self.log("command", command="AUTH", arg=mech)
        if not mech:
            self.send("+OK\r\n" + "".join(m + "\r\n" for m in MECHANISMS) + ".\r\n")
            return
        if mech.upper() not in MECHANISMS:
            self.send_line("-ERR [AUTH] Unsupported authentication mechanism.")
            return
        response = initial
        if not response:
            self.send_line("+ ")
            raw = self.next_line()
            if raw is None:
                return False
            response = text(raw)
            if response == "*":
                self.send_line("-ERR Authentication aborted by client.")
                return
        self.fail(**plain_auth_fields(response))

    def cmd_STLS(self, args):
        self.send_line("-ERR TLS support isn't enabled.")

    def cmd_XCLIENT(self, args):
        self.send_line("+OK You are not from trusted IP - ignoring")

    def cmd_QUIT(self, args):
        self.send_line("+OK Logging out")
        self.reason = "quit"
        return False


if __name__ == "__main__":
    serve(POP3Session, PORT)
