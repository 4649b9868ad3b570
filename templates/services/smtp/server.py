#!/usr/bin/env python3
"""DECNET smtp decoy: a Postfix (Debian) look-alike that records logins and messages.

Standard library (+ cryptography for the STARTTLS certificate, via decnet_tls), built on
decnet_tcp. Listens on 0.0.0.0:25 (``DECNET_SMTP_PORT`` overrides). Every AUTH attempt (PLAIN and
LOGIN, decoded) is logged as ``auth`` and refused the way Postfix refuses it; MAIL, RCPT
and DATA are accepted and logged as ``command`` (sender, recipients, subject, size and
digest of each message) but nothing is ever delivered or relayed. Other commands are
logged as ``command``.

Setting: ``DECNET_SMTP_BANNER``, the greeting text after the hostname (default
``ESMTP Postfix (Debian/GNU)``).
"""

import email.header
import email.parser
import hashlib
import random
import socket
import ssl
import time

import decnet_tls
from decnet_tcp import Session, env, plain_auth_fields, sasl_base64, serve, text

HOSTNAME = env("DECNET_HOSTNAME", env("DECNET_DECKY", socket.gethostname()))
BANNER = env("DECNET_SMTP_BANNER", "ESMTP Postfix (Debian/GNU)")
PORT = int(env("DECNET_SMTP_PORT", "25"))
TLS_DIR = "/var/lib/decnet/tls"

MESSAGE_SIZE_LIMIT = 10240000   # message_size_limit
LINE_LIMIT = 2048               # line_length_limit (command lines)
RECIPIENT_LIMIT = 1000          # smtpd_recipient_limit
SOFT_ERROR_LIMIT = 10           # smtpd_soft_error_limit: sleep before each error reply...
ERROR_SLEEP = 1.0               # ...for smtpd_error_sleep_time
HARD_ERROR_LIMIT = 20           # smtpd_hard_error_limit: then hang up
AUTH_FAIL_DELAY = 2.0           # saslauthd/PAM failure delay
KEPT_HEADER_BYTES = 64 * 1024   # message bytes kept to find the Subject
FORBIDDEN = ("CONNECT", "GET", "POST")   # smtpd_forbidden_commands

# Debian /etc/passwd accounts and /etc/aliases names: what VRFY admits to knowing
LOCAL_USERS = {
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
    "proxy", "www-data", "backup", "list", "irc", "nobody", "systemd-network", "messagebus",
    "sshd", "postfix", "postmaster", "mailer-daemon", "abuse", "hostmaster", "webmaster",
    "www", "ftp", "noc", "security", "usenet", "admin",
}


def _make_tls_context():
    """STARTTLS with a self-signed certificate for the hostname, like Debian's snakeoil one
    (made once per container by decnet_tls); None (no STARTTLS) if that fails."""
    try:
        crt, key = decnet_tls.load_or_create_certificate(TLS_DIR, HOSTNAME, name="smtp", valid_days=3650,
                                                         profile=decnet_tls.WEB)
        return decnet_tls.server_context(crt, key)
    except Exception:
        return None


TLS_CONTEXT = None


def _queue_id():
    return "%X" % random.randint(0x1000000000, 0xFFFFFFFFFF)


def _parse_path(arg, keyword):
    """Split 'FROM:<addr> PARAMS' / 'TO:<addr> PARAMS' -> (address, [params]) or None."""
    if arg[:len(keyword)].upper() != keyword:
        return None
    rest = arg[len(keyword):].lstrip(" ")
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            return None
        address, params = rest[1:end], rest[end + 1:].split()
    else:
        parts = rest.split()
        if not parts:
            return None
        address, params = parts[0], parts[1:]
    if any(c in address for c in " <>\t"):
        return None
    return address, params


def _subject(header_bytes):
    try:
        headers = email.parser.BytesHeaderParser().parsebytes(header_bytes)
        raw = headers.get("Subject", "")
        if not raw:
            return ""
        return str(email.header.make_header(email.header.decode_header(str(raw))))
    except Exception:
        return ""


class SMTPSession(Session):

    idle_timeout = 300    # smtpd_timeout

    def run(self):
        self.helo = None
        self.esmtp = False
        self.tls = False
        self.errors = 0
        self.reset()
        try:
            self.reply("220 %s %s" % (HOSTNAME, BANNER))
            while True:
                if self.errors >= HARD_ERROR_LIMIT:
                    self.reply("421 4.7.0 %s Error: too many errors" % HOSTNAME)
                    self.reason = "too_many_errors"
                    return
                raw = self.read_line(LINE_LIMIT)
                if raw is None or not self.dispatch(text(raw)):
                    return
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.reply("421 4.4.2 %s Error: timeout exceeded" % HOSTNAME)
            except OSError:
                pass
        finally:
            if self.tls:
                try:
                    self.request.close()
                except OSError:
                    pass

    # --- plumbing ------------------------------------------------------------------
    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.bdat_size = None     # bytes received so far by BDAT in this transaction
        self.bdat_head = b""
        self.bdat_hash = None

    def reply(self, text):
        if text[:1] in ("4", "5") and not text.startswith("421"):
            if self.errors >= SOFT_ERROR_LIMIT:
                time.sleep(ERROR_SLEEP)
            self.errors += 1
        self.send_line(text)

    def ehlo_lines(self):
        caps = ["PIPELINING", "SIZE %d" % MESSAGE_SIZE_LIMIT, "VRFY", "ETRN"]
        if TLS_CONTEXT is not None and not self.tls:
            caps.append("STARTTLS")
        caps += ["AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"]
        lines = [HOSTNAME] + caps
        return "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l) for i, l in enumerate(lines))

    def dispatch(self, line):
        """Answer one command line; False ends the session."""
        verb, _, arg = line.strip(" \t").partition(" ")
        arg = arg.strip(" \t")
        cmd = verb.upper() if verb.isascii() and verb.isprintable() else verb
        handler = getattr(self, "cmd_" + cmd, None) if cmd.isalpha() else None

        if cmd in FORBIDDEN:
            self.log("command", command=cmd, arg=arg)
            self.reply("221 2.7.0 Error: I can break rules, too. Goodbye.")
            self.reason = "non_smtp_command"
            return False
        if handler is None:
            self.log("command", command=cmd, arg=arg)
            self.reply("502 5.5.2 Error: command not recognized")
            return True
        if cmd not in ("AUTH", "DATA", "BDAT", "MAIL", "RCPT"):
            self.log("command", command=cmd, arg=arg)
        return handler(arg) is not False

    # --- commands ------------------------------------------------------------------
    def cmd_EHLO(self, arg):
        if not arg:
            self.reply("501 Syntax: EHLO hostname")
            return
        self.helo, self.esmtp = arg, True
        self.reset()
        self.send(self.ehlo_lines())

    def cmd_HELO(self, arg):
        if not arg:
            self.reply("501 Syntax: HELO hostname")
            return
        self.helo, self.esmtp = arg, False
        self.reset()
        self.reply("250 %s" % HOSTNAME)

    def cmd_STARTTLS(self, arg):
        if TLS_CONTEXT is None:
            self.reply("502 5.5.1 Error: command not implemented")
            return
        if arg:
            self.reply("501 5.5.4 Syntax: STARTTLS")
            return
        if self.tls:
            self.reply("554 5.5.1 Error: TLS already active")
            return
        self.reply("220 2.0.0 Ready to start TLS")
        self.buffer = b""   # never act on commands pipelined before the handshake
        try:
            self.request = TLS_CONTEXT.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.log("command", command="STARTTLS", result="handshake_failed",
                     error=decnet_tls.handshake_failure(exc))
            self.reason = "tls_handshake_failed"
            return False
        self.tls = True
        self.log("command", command="STARTTLS", result="ok", cipher=(self.request.cipher() or ("",))[0],
                 version=self.request.version() or "")
        self.helo, self.esmtp = None, False
        self.reset()

    def cmd_AUTH(self, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        self.log("command", command="AUTH", arg=mech)
        if self.helo is None:
            self.reply("503 5.5.1 Error: send HELO/EHLO first")
            return
        if self.mail_from is not None:
            self.reply("503 5.5.1 Error: MAIL transaction in progress")
            return
        if not mech:
            self.reply("501 5.5.4 Syntax: AUTH mechanism")
            return
        if mech == "PLAIN":
            self.auth_plain(initial.strip())
        elif mech == "LOGIN":
            self.auth_login(initial.strip())
        else:
            self.reply("535 5.7.8 Error: authentication failed: no mechanism available")

    def challenge(self, prompt):
        """Send a 334 challenge; the client's answer, or None if it gave up ('*')."""
        self.send_line("334 " + prompt)
        answer = self.read_line(LINE_LIMIT)
        if answer is None:
            raise ConnectionError("client closed during AUTH")
        answer = text(answer).strip()
        if answer == "*":
            self.reply("501 5.7.0 Authentication aborted")
            return None
        return answer

    def auth_plain(self, initial):
        response = initial if initial else self.challenge("")
        if response is None:
            return
        fields = plain_auth_fields(response)
        self.log("auth", severity="notice", **fields, tls="yes" if self.tls else "no")
        if "raw" in fields:
            self.reply("535 5.7.8 Error: authentication failed: bad protocol / cancel")
            return
        self.fail_auth()

    def auth_login(self, initial):
        user64 = initial if initial else self.challenge("VXNlcm5hbWU6")   # "Username:"
        if user64 is None:
            return
        pass64 = self.challenge("UGFzc3dvcmQ6")                           # "Password:"
        if pass64 is None:
            return
        username, password = sasl_base64(user64), sasl_base64(pass64)
        if username is None or password is None:
            self.log("auth", severity="notice", mechanism="LOGIN", username=user64, password=pass64,
                     raw="undecodable", tls="yes" if self.tls else "no")
            self.reply("535 5.7.8 Error: authentication failed: bad protocol / cancel")
            return
        self.log("auth", severity="notice", mechanism="LOGIN", username=text(username),
                 password=text(password), tls="yes" if self.tls else "no")
        self.fail_auth()

    def fail_auth(self):
        time.sleep(AUTH_FAIL_DELAY)
        self.reply("535 5.7.8 Error: authentication failed: authentication failure")

    def cmd_MAIL(self, arg):
        parsed = _parse_path(arg, "FROM:")
        self.log("command", command="MAIL", arg=arg, **({"from": parsed[0]} if parsed else {}))
        if self.mail_from is not None:
            self.reply("503 5.5.1 Error: nested MAIL command")
            return
        if parsed is None:
            self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        address, params = parsed
        for param in params:
            key, _, value = param.partition("=")
            key = key.upper()
            if key == "SIZE":
                if not value.isdigit():
                    self.reply("501 5.5.4 Bad message size syntax")
                    return
                if int(value) > MESSAGE_SIZE_LIMIT:
                    self.reply("552 5.3.4 Message size exceeds fixed limit")
                    return
            elif key not in ("BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"):
                self.reply("555 5.5.4 Unsupported option: %s" % param)
                return
        self.mail_from = address
        self.reply("250 2.1.0 Ok")

    def cmd_RCPT(self, arg):
        parsed = _parse_path(arg, "TO:")
        self.log("command", command="RCPT", arg=arg, **({"to": parsed[0]} if parsed else {}))
        if self.mail_from is None:
            self.reply("503 5.5.1 Error: need MAIL command")
            return
        if parsed is None:
            self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        address, params = parsed
        if not address:
            self.reply("501 5.1.3 Bad recipient address syntax")
            return
        for param in params:
            if param.partition("=")[0].upper() not in ("NOTIFY", "ORCPT"):
                self.reply("555 5.5.4 Unsupported option: %s" % param)
                return
        if len(self.rcpts) >= RECIPIENT_LIMIT:
            self.reply("452 4.5.3 Error: too many recipients")
            return
        self.rcpts.append(address)
        self.reply("250 2.1.5 Ok")

    def cmd_DATA(self, arg):
        if arg:
            self.log("command", command="DATA", arg=arg)
            self.reply("501 5.5.4 Syntax: DATA")
            return
        if self.bdat_size is not None:
            self.log("command", command="DATA")
            self.reply("503 5.5.1 Error: DATA after BDAT")
            return
        if self.mail_from is None:
            self.log("command", command="DATA")
            self.reply("503 5.5.1 Error: need RCPT command")
            return
        if not self.rcpts:
            self.log("command", command="DATA")
            self.reply("554 5.5.1 Error: no valid recipients")
            return
        self.send_line("354 End data with <CR><LF>.<CR><LF>")
        size, head, digest = 0, b"", hashlib.sha256()
        while True:
            line = self.read_line(65536)
            if line is None:
                raise ConnectionError("client closed during DATA")
            if line == b".":
                break
            if line.startswith(b"."):
                line = line[1:]
            line += b"\r\n"
            size += len(line)
            digest.update(line)
            if len(head) < KEPT_HEADER_BYTES:
                head += line[:KEPT_HEADER_BYTES - len(head)]
        self.finish_message("DATA", size, head, digest)

    def cmd_BDAT(self, arg):
        parts = arg.split()
        if not (1 <= len(parts) <= 2 and parts[0].isdigit()
                and (len(parts) == 1 or parts[1].upper() == "LAST")):
            self.log("command", command="BDAT", arg=arg)
            self.reply("501 5.5.4 Syntax: BDAT count [LAST]")
            return
        count, last = int(parts[0]), len(parts) == 2
        if self.mail_from is None or not self.rcpts:
            self.read_chunk(count, None)      # the chunk is on the wire anyway
            self.log("command", command="BDAT", arg=arg)
            self.reply("503 5.5.1 Error: need MAIL command" if self.mail_from is None
                       else "554 5.5.1 Error: no valid recipients")
            return
        if self.bdat_size is None:
            self.bdat_size, self.bdat_head, self.bdat_hash = 0, b"", hashlib.sha256()
        head = self.read_chunk(count, self.bdat_hash)
        self.bdat_size += count
        if len(self.bdat_head) < KEPT_HEADER_BYTES:
            self.bdat_head += head[:KEPT_HEADER_BYTES - len(self.bdat_head)]
        if self.bdat_size > MESSAGE_SIZE_LIMIT:
            self.log("command", command="BDAT", arg=arg, result="too_big", size=self.bdat_size)
            self.reply("552 5.3.4 Chunk exceeds message size limit")
            self.reset()
            return
        if not last:
            self.reply("250 2.0.0 Ok: %d bytes" % count)
            return
        self.finish_message("BDAT", self.bdat_size, self.bdat_head, self.bdat_hash)

    def read_chunk(self, count, digest):
        """Read a BDAT chunk of count bytes into digest; return its first bytes."""
        head = b""
        remaining = count
        while remaining > 0:
            data = self.recv_some(min(remaining, 65536))
            if not data:
                raise ConnectionError("client closed during BDAT")
            remaining -= len(data)
            if digest is not None:
                digest.update(data)
            if len(head) < KEPT_HEADER_BYTES:
                head += data[:KEPT_HEADER_BYTES - len(head)]
        return head

    def finish_message(self, via, size, head, digest):
        header_part = head.split(b"\r\n\r\n", 1)[0]
        fields = {"from": self.mail_from, "to": ",".join(self.rcpts),
                  "subject": _subject(header_part)[:200], "size": size,
                  "sha256": digest.hexdigest(), "helo": self.helo or ""}
        if size > MESSAGE_SIZE_LIMIT:
            self.log("command", command=via, result="too_big", **fields)
            self.reply("552 5.3.4 Message file too big")
        else:
            queue_id = _queue_id()
            self.log("command", command=via, result="queued", queue_id=queue_id, **fields)
            if via == "BDAT":
                self.reply("250 2.0.0 Ok: %d bytes queued as %s" % (size, queue_id))
            else:
                self.reply("250 2.0.0 Ok: queued as %s" % queue_id)
        self.reset()

    def cmd_RSET(self, arg):
        if arg:
            self.reply("501 5.5.4 Syntax: RSET")
            return
        self.reset()
        self.reply("250 2.0.0 Ok")

    def cmd_NOOP(self, arg):
        self.reply("250 2.0.0 Ok")

    def cmd_VRFY(self, arg):
        if not arg:
            self.reply("501 5.5.4 Syntax: VRFY address")
            return
        address = arg.strip("<>")
        local, _, domain = address.partition("@")
        if domain and domain.lower() not in (HOSTNAME.lower(), "localhost"):
            self.reply("252 2.0.0 %s" % arg)
        elif local.lower() in LOCAL_USERS:
            self.reply("252 2.0.0 %s" % arg)
        else:
            self.reply("550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table"
                       % address)

    def cmd_ETRN(self, arg):
        if self.helo is None:
            self.reply("503 5.5.1 Error: send HELO/EHLO first")
        elif self.mail_from is not None:
            self.reply("503 5.5.1 Error: MAIL transaction in progress")
        elif not arg:
            self.reply("500 5.5.2 Syntax: ETRN domain")
        else:
            self.reply("458 4.3.0 Unable to queue messages")

    def cmd_QUIT(self, arg):
        self.reply("221 2.0.0 Bye")
        self.reason = "quit"
        return False


if __name__ == "__main__":
    TLS_CONTEXT = _make_tls_context()
    serve(SMTPSession, PORT)
