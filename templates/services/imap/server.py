#!/usr/bin/env python3
"""DECNET imap decoy: a Dovecot (Debian) imap-login look-alike that records and refuses logins.

Standard library only, built on decnet_tcp. Listens on 0.0.0.0:143 (``DECNET_IMAP_PORT``
overrides). Commands are parsed like IMAP4rev1 (atoms, quoted strings, synchronizing and
LITERAL+ literals, lists). Every LOGIN and AUTHENTICATE PLAIN is logged as ``auth`` and
refused the way Dovecot refuses it; other commands are logged as ``command``.

Setting: ``DECNET_IMAP_BANNER``, the greeting text after the capability code (default
``Dovecot (Debian) ready.``).
"""

import socket
import time

from decnet_tcp import Session, env, plain_auth_fields, serve, text

BANNER = env("DECNET_IMAP_BANNER", "Dovecot (Debian) ready.")
PORT = int(env("DECNET_IMAP_PORT", "143"))

CAPABILITY = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN"
MECHANISMS = ["PLAIN"]
LOGIN_TIMEOUT = 180        # Dovecot drops a client not logged in after 3 minutes
MAX_BAD_COMMANDS = 3       # imap-login CLIENT_MAX_BAD_COMMANDS
AUTH_FAILURE_DELAY = 2.0   # auth_failure_delay
MAX_IMAP_LINE = 8192       # imap-login MAX_IMAP_LINE (a command with its literals)
TAG_MAX_LEN = 100
BAD_TAG_CHARS = set('+(){/ %*"\\')
AUTH_FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."
BAD_COMMAND = "BAD Error in IMAP command received by server."


class ParseError(Exception):
    """A command the parser refuses; fatal ones end the connection (BYE)."""

    def __init__(self, message, fatal=False):
        super().__init__(message)
        self.fatal = fatal


def _astring(arg):
    return arg[1] if isinstance(arg, tuple) and arg[0] in ("atom", "string") else None


def _show(args):
    """Arguments as a compact string for the log."""
    out = []
    for arg in args:
        if arg[0] == "list":
            out.append("(" + _show(arg[1]) + ")")
        elif arg[0] == "nil":
            out.append("NIL")
        elif arg[0] == "string":
            out.append('"%s"' % arg[1])
        else:
            out.append(arg[1])
    return " ".join(out)


class IMAPSession(Session):

    idle_timeout = LOGIN_TIMEOUT

    def run(self):
        self.deadline = time.monotonic() + LOGIN_TIMEOUT
        self.bad = 0
        try:
            self.send_line("* OK [CAPABILITY %s] %s" % (CAPABILITY, BANNER))
            while True:
                line = self.next_line()
                if line is None or not self.handle_command(line):
                    return
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.send_line("* BYE Disconnected for inactivity.")
            except OSError:
                pass

    def next_line(self):
        """A line, read within what is left of the login timeout (None at EOF)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.request.settimeout(left)
        return self.read_line(MAX_IMAP_LINE + 2)

    # --- parsing -------------------------------------------------------------------
    def parse_args(self, data):
        """Parse the arguments after tag and command, reading literals as they come."""
        self.used = len(data)
        stack, current, pos = [], [], 0
        while True:
            while pos < len(data) and data[pos:pos + 1] == b" ":
                pos += 1
            if pos >= len(data):
                if stack:
                    raise ParseError("Missing ')'")
                return current
            char = data[pos:pos + 1]
            if char == b"(":
                stack.append(current)
                current = []
                pos += 1
            elif char == b")":
                if not stack:
                    raise ParseError("Unexpected ')'")
                inner, current = current, stack.pop()
                current.append(("list", inner))
                pos += 1
            elif char == b'"':
                pos += 1
                value = bytearray()
                while True:
                    if pos >= len(data):
                        raise ParseError("Missing '\"'")
                    c = data[pos]
                    if c == 0x5C and pos + 1 < len(data):   # backslash escape
                        value.append(data[pos + 1])
                        pos += 2
                    elif c == 0x22:
                        pos += 1
                        break
                    else:
                        value.append(c)
                        pos += 1
                current.append(("string", text(bytes(value))))
            elif char == b"{":
                end = data.find(b"}", pos)
                spec = data[pos + 1:end] if end > 0 else b""
                sync = not spec.endswith(b"+")
                digits = spec if sync else spec[:-1]
                if end < 0 or end != len(data) - 1 or not digits.isdigit():
                    raise ParseError("Invalid literal size")
                size = int(digits)
                self.used += size
                if self.used > MAX_IMAP_LINE:
                    raise ParseError("Too long argument.", fatal=True)
                if sync:
                    self.send_line("+ OK")
                literal = self.recv_exact(size) if size else b""
                if literal is None:
                    return None
                current.append(("string", text(literal)))
                rest = self.next_line()
                if rest is None:
                    return None
                self.used += len(rest)
                if self.used > MAX_IMAP_LINE:
                    raise ParseError("Too long argument.", fatal=True)
                data, pos = rest, 0
            else:
                end = pos
                while end < len(data) and data[end:end + 1] not in (b" ", b"(", b")"):
                    end += 1
                word = text(data[pos:end])
                current.append(("nil",) if word.upper() == "NIL" else ("atom", word))
                pos = end

    def handle_command(self, line):
        """Answer one command (line plus any literals); False ends the session."""
        if len(line) > MAX_IMAP_LINE:
            self.log("command", command="(overlong)", arg=text(line[:128]))
            self.send_line("* BYE Too long argument.")
            self.reason = "line_too_long"
            return False
        tag, _, rest = line.partition(b" ")
        name, _, rest = rest.partition(b" ")
        tag, name = text(tag), text(name)
        if len(tag) > TAG_MAX_LEN or any(c in BAD_TAG_CHARS or ord(c) < 32 for c in tag):
            tag = ""   # like Dovecot, never echo an invalid tag (HTTP requests...)
        self.tag = tag or "*"
        cmd = name.upper()
        try:
            args = self.parse_args(rest)
        except ParseError as exc:
            self.log("command", tag=tag, command=cmd, error=str(exc))
            if exc.fatal:
                self.send_line("* BYE %s" % exc)
                self.reason = "line_too_long"
                return False
            self.tagged("BAD %s" % exc)
            return True
        if args is None:
            self.reason = "client_closed"
            return False

        handler = getattr(self, "cmd_" + cmd, None) if tag and cmd.isalpha() and cmd.isascii() else None
        if cmd not in ("LOGIN", "AUTHENTICATE"):
            self.log("command", tag=tag, command=cmd, arg=_show(args))
        if handler is not None:
            return handler(args) is not False
        if tag.upper() == "LOGIN":
            self.tagged("BAD First parameter in line is IMAP's command tag, not the command name. "
                        "Add that before the command, like: a login user pass")
            return True
        self.bad += 1
        if self.bad >= MAX_BAD_COMMANDS:
            self.send_line("* BYE Too many invalid IMAP commands.")
            self.reason = "too_many_bad_commands"
            return False
        self.tagged(BAD_COMMAND)
        return True

    def tagged(self, text):
        self.send_line("%s %s" % (self.tag, text))

    def fail(self, **fields):
        self.log("auth", severity="notice", **fields)
        time.sleep(AUTH_FAILURE_DELAY)
        self.tagged(AUTH_FAILED)

    # --- commands ------------------------------------------------------------------
    def cmd_CAPABILITY(self, args):
        self.send_line("* CAPABILITY " + CAPABILITY)
        self.tagged("OK Pre-login capabilities listed, post-login capabilities have more.")

    def cmd_NOOP(self, args):
        self.tagged("OK NOOP completed.")

    def cmd_LOGOUT(self, args):
        self.send_line("* BYE Logging out")
        self.tagged("OK Logout completed.")
        self.reason = "logout"
        return False

    def cmd_ENABLE(self, args):
        self.send_line("* ENABLED")
        self.tagged("OK ENABLE ignored in non-authenticated state.")

    def cmd_STARTTLS(self, args):
        self.tagged("BAD TLS support isn't enabled.")

    def cmd_ID(self, args):
        if len(args) == 1 and args[0][0] == "nil":
            pass
        elif len(args) != 1 or args[0][0] != "list" or len(args[0][1]) % 2 \
                or any(_astring(a) is None for a in args[0][1][::2]):
            self.tagged("BAD Invalid ID parameters")
            return
        self.send_line('* ID ("name" "Dovecot")')
        self.tagged("OK ID completed.")

    def cmd_LOGIN(self, args):
        username = _astring(args[0]) if len(args) == 2 else None
        password = _astring(args[1]) if len(args) == 2 else None
        if username is None or password is None:
            self.log("command", tag=self.tag, command="LOGIN", arg=_show(args))
            self.tagged("BAD Invalid arguments.")
            return
        self.fail(mechanism="LOGIN", username=username, password=password)

    def cmd_AUTHENTICATE(self, args):
        mech = _astring(args[0]) if args else None
        self.log("command", tag=self.tag, command="AUTHENTICATE", arg=mech or "")
        if mech is None or len(args) > 2:
            self.tagged("BAD Invalid arguments.")
            return
        if mech.upper() not in MECHANISMS:
            self.tagged("NO Unsupported authentication mechanism.")
            return
        response = _astring(args[1]) if len(args) == 2 else None
        if response is None:
            self.send_line("+ ")
            raw = self.next_line()
            if raw is None:
                self.reason = "client_closed"
                return False
            response = text(raw)
            if response == "*":
                self.tagged("BAD Authentication aborted by client.")
                return
        self.fail(**plain_auth_fields(response))


if __name__ == "__main__":
    serve(IMAPSession, PORT)
