#!/usr/bin/env python3
"""DECNET ftp decoy: a vsftpd look-alike control channel that records and refuses logins.

Standard library only, built on decnet_tcp (threads, connection cap, connect/disconnect
events, bounded line reader). Listens on 0.0.0.0:21 (``DECNET_FTP_PORT`` overrides).
Events (RFC 5424 on stdout): connect, auth (every PASS), command (every other command),
disconnect.

Setting: ``DECNET_FTP_BANNER`` (text after ``220 ``, default ``(vsFTPd 3.0.3)``).
"""

import socket
import time

from decnet_tcp import Session, env, serve

BANNER = env("DECNET_FTP_BANNER", "(vsFTPd 3.0.3)")
PORT = int(env("DECNET_FTP_PORT", "21"))
MAX_LOGIN_FAILS = 3       # vsftpd max_login_fails: hang up after this many
FAILED_LOGIN_DELAY = 1.0  # vsftpd delay_failed_login

FEATURES = ["EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"]


class FTPSession(Session):

    idle_timeout = 300    # vsftpd idle_session_timeout

    def run(self):
        self.username = None
        self.fails = 0
        try:
            self.send_line("220 " + BANNER)
            while True:
                raw = self.read_line()
                if raw is None or not self.dispatch(raw):
                    return
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.send_line("421 Timeout.")
            except OSError:
                pass

    def dispatch(self, raw):
        """Answer one command line; False ends the session."""
        # drop telnet IAC sequences some clients send before commands (ABOR, etc.)
        raw = raw.replace(b"\xff\xf4", b"").replace(b"\xff\xf2", b"")
        line = raw.decode("utf-8", "backslashreplace")
        verb, _, arg = line.strip(" ").partition(" ")
        cmd = verb.upper() if verb.isascii() and verb.isprintable() else verb
        if not cmd and not arg:
            return True  # vsftpd ignores empty lines

        if cmd == "PASS":
            username = self.username
            self.log("auth", severity="notice", username=username or "", password=arg)
            if username is None:
                self.send_line("503 Login with USER first.")
                return True
            self.username = None
            self.fails += 1
            time.sleep(FAILED_LOGIN_DELAY)
            self.send_line("530 Login incorrect.")
            if self.fails >= MAX_LOGIN_FAILS:
                self.reason = "too_many_login_failures"
                return False
            return True

        self.log("command", command=cmd, arg=arg)
        if cmd == "USER":
            self.username = arg
            self.send_line("331 Please specify the password.")
        elif cmd == "QUIT":
            self.send_line("221 Goodbye.")
            self.reason = "quit"
            return False
        elif cmd == "SYST":
            self.send_line("215 UNIX Type: L8")
        elif cmd == "FEAT":
            self.send("211-Features:\r\n" + "".join(" %s\r\n" % f for f in FEATURES) + "211 End\r\n")
        elif cmd == "OPTS":
            if arg.strip().upper() == "UTF8 ON":
                self.send_line("200 Always in UTF8 mode.")
            else:
                self.send_line("501 Option not understood.")
        else:
            self.send_line("530 Please login with USER and PASS.")
        return True


if __name__ == "__main__":
    serve(FTPSession, PORT)
