#!/usr/bin/env python3
"""DECNET telnet decoy: a Debian telnetd (netkit) + login(1) look-alike that refuses logins.

Standard library only, built on decnet_tcp. Listens on 0.0.0.0:23 (``DECNET_TELNET_PORT``
overrides). Negotiates options the way netkit telnetd does (DO TTYPE/TSPEED/XDISPLOC/
NEW-ENVIRON first, then WILL SGA, DO ECHO, DO NAWS, WILL STATUS, DO LFLOW, WILL ECHO),
answers and drops the client's replies, shows /etc/issue.net and a ``<host> login:``
prompt. Every username/password pair is logged as ``auth`` and refused with
``Login incorrect``; the connection is closed after three failures. The terminal
type, speed, display and environment the client sent are logged once as ``command``.

Setting: ``DECNET_TELNET_BANNER``, the /etc/issue.net text shown before the prompt
(default ``Debian GNU/Linux 12``; netkit's %h %d %t %s %m %r %v %% escapes work).
"""

import datetime
import socket
import time

from decnet_tcp import Session, env, serve

HOSTNAME = env("DECNET_HOSTNAME", env("DECNET_DECKY", socket.gethostname()))
BANNER = env("DECNET_TELNET_BANNER", "Debian GNU/Linux 12")
PORT = int(env("DECNET_TELNET_PORT", "23"))

MAX_LOGIN_FAILS = 3      # hang up after this many
FAIL_DELAY = 3.0         # login.defs FAIL_DELAY
LOGIN_TIMEOUT = 60       # login.defs LOGIN_TIMEOUT
NEGOTIATION_WAIT = 10.0  # longest wait for answers to the first DOs (telnetd waits forever)
REPLY_WAIT = 3.0         # longest wait for each later round of negotiation
DUMB_CLIENT_WAIT = 1.5   # a client that types without negotiating gets its prompt after this
MAX_FIELD = 256          # characters kept of a typed username/password

KERNEL_RELEASE = "6.1.0-28-amd64"
KERNEL_VERSION = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)"

# telnet protocol bytes
IAC, DONT, DO, WONT, WILL, SB, GA, EL, EC, AYT, AO, IP, BRK, DM, NOP, SE = range(255, 239, -1)
ECHO, SGA, STATUS, TM, TTYPE, NAWS, TSPEED, LFLOW, LINEMODE, XDISPLOC, NEW_ENVIRON = \
    1, 3, 5, 6, 24, 31, 32, 33, 34, 35, 39
SEND, IS = 1, 0

HIS_OK = {TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, NAWS, LFLOW, SGA}   # client options we accept
MY_OK = {SGA, ECHO, STATUS}                                       # our options we offer


def _issue(text):
    """Expand netkit telnetd's /etc/issue.net escapes."""
    now = datetime.datetime.now()
    values = {"h": HOSTNAME, "t": "pts/0", "s": "Linux", "m": "x86_64", "r": KERNEL_RELEASE,
              "v": KERNEL_VERSION, "d": now.strftime("%H:%M on %A, %d %B %Y"), "%": "%"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text) and text[i + 1] in values:
            out.append(values[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _environ(payload):
    """NEW-ENVIRON IS/INFO payload -> 'NAME=value NAME2=value2'."""
    items, name, value, target, i = [], None, None, None, 1
    while i < len(payload):
        b = payload[i]
        if b in (0, 3):              # VAR / USERVAR
            if name is not None:
                items.append((name, value))
            name, value, target = bytearray(), None, "name"
        elif b == 1:                 # VALUE
            value, target = bytearray(), "value"
        else:
            if b == 2 and i + 1 < len(payload):   # ESC
                i += 1
                b = payload[i]
            if target == "name":
                name.append(b)
            elif target == "value":
                value.append(b)
        i += 1
    if name is not None:
        items.append((name, value))
    text = lambda v: bytes(v).decode("utf-8", "backslashreplace")  # noqa: E731
    return " ".join(text(n) + ("" if v is None else "=" + text(v)) for n, v in items)


class TelnetSession(Session):

    idle_timeout = LOGIN_TIMEOUT + 30

    def run(self):
        self.him, self.me = {}, {}              # option -> agreed on / off
        self.pending_do, self.pending_will = set(), set()
        self.refused = set()
        self.subneg = {}                         # option -> last payload received
        self.pending = b""                       # incomplete IAC sequence
        self.data = bytearray()                  # what the user typed
        self.skip_lf = False
        self.deadline = None
        self.negotiating = False                 # the client has sent telnet commands
        try:
            if not self.negotiate():
                return
            self.login()
        except socket.timeout:
            self.reason = "idle_timeout"
            try:
                self.send("\r\nLogin timed out after %d seconds.\r\n" % LOGIN_TIMEOUT)
            except OSError:
                pass

    # --- option negotiation -------------------------------------------------------------
    def command(self, verb, option):
        self.send(bytes((IAC, verb, option)))

    def ask(self, verb, options):
        """Send DO or WILL for options not agreed or asked already (in one write)."""
        out = bytearray()
        for option in options:
            state, pending = (self.him, self.pending_do) if verb == DO else (self.me, self.pending_will)
            if not state.get(option) and option not in pending:
                pending.add(option)
                out += bytes((IAC, verb, option))
        if out:
            self.send(bytes(out))

    def on_option(self, verb, option):
        if verb == WILL:
            if option == ECHO:                   # "4.2 client": tell it not to echo
                self.pending_do.discard(option)
                self.him[option] = False
                self.command(DONT, option)
            elif option in self.pending_do:
                self.pending_do.discard(option)
                self.him[option] = True
            elif self.him.get(option):
                pass
            elif option in HIS_OK:
                self.him[option] = True
                self.command(DO, option)
            elif ("him", option) not in self.refused:
                self.refused.add(("him", option))
                self.command(DONT, option)
        elif verb == WONT:
            self.pending_do.discard(option)
            if self.him.get(option):
                self.command(DONT, option)
            self.him[option] = False
        elif verb == DO:
            if option in self.pending_will:
                self.pending_will.discard(option)
                self.me[option] = True
            elif self.me.get(option):
                pass
            elif option in MY_OK:
                self.me[option] = True
                self.command(WILL, option)
            elif option == TM:
                self.command(WILL, option)
            elif ("me", option) not in self.refused:
                self.refused.add(("me", option))
                self.command(WONT, option)
        elif verb == DONT:
            self.pending_will.discard(option)
            if self.me.get(option):
                self.command(WONT, option)
            self.me[option] = False

    def on_data(self, chunk):
        """Split what arrived into telnet commands (answered) and user data (kept)."""
        buf, i = self.pending + chunk, 0
        while i < len(buf):
            byte = buf[i]
            if byte != IAC:
                nxt = buf.find(bytes((IAC,)), i)
                end = len(buf) if nxt < 0 else nxt
                self.data += buf[i:end]
                i = end
                continue
            if i + 1 >= len(buf):
                break
            verb = buf[i + 1]
            if verb != IAC:
                self.negotiating = True
            if verb == IAC:
                self.data.append(IAC)
                i += 2
            elif verb in (WILL, WONT, DO, DONT):
                if i + 2 >= len(buf):
                    break
                self.on_option(verb, buf[i + 2])
                i += 3
            elif verb == SB:
                end = i + 2
                while True:
                    end = buf.find(bytes((IAC, SE)), end)
                    # an IAC SE preceded by an odd run of IACs is an escaped 0xFF + SE
                    if end < 0 or (len(buf[i + 2:end]) - len(buf[i + 2:end].rstrip(b"\xff"))) % 2 == 0:
                        break
                    end += 1
                if end < 0:
                    if len(buf) - i > 4096:      # runaway subnegotiation: drop it
                        i = len(buf)
                    break
                body = buf[i + 2:end].replace(b"\xff\xff", b"\xff")
                if body:
                    self.subneg[body[0]] = body[1:]
                i = end + 2
            elif verb == AYT:
                self.send("\r\n[Yes]\r\n")
                i += 2
            elif verb == EC:
                self.data.append(0x7F)
                i += 2
            elif verb == EL:
                self.data.append(0x15)
                i += 2
            else:                                # NOP, DM, BRK, IP, AO, GA, stray SE
                i += 2
        self.pending = buf[i:]

    def pump(self, timeout):
        """Read once (at most timeout seconds); False at EOF."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            timeout = min(timeout, left)
        self.request.settimeout(max(timeout, 0.01))
        chunk = self.request.recv(4096)
        if not chunk:
            self.reason = "client_closed"
            return False
        self.on_data(chunk)
        return True

    def wait_for(self, done, limit):
        """Process input until done() or limit seconds passed; False at EOF."""
        end = time.monotonic() + limit
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return True
            try:
                if not self.pump(min(left, 0.25)):
                    return False
            except socket.timeout:
                continue
        return True

    def negotiate(self):
        first = (TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON)
        self.ask(DO, first)
        started = time.monotonic()
        # a client that types without answering is no telnet client: do not keep it waiting
        if not self.wait_for(lambda: not (self.pending_do & set(first))
                             or (self.data and time.monotonic() - started > DUMB_CLIENT_WAIT),
                             NEGOTIATION_WAIT):
            return False
        reply_wait = REPLY_WAIT if self.negotiating else 0
        wanted = [o for o in (TSPEED, XDISPLOC, NEW_ENVIRON, TTYPE) if self.him.get(o)]
        if wanted:
            self.send(b"".join(bytes((IAC, SB, o, SEND, IAC, SE)) for o in wanted))
            if not self.wait_for(lambda: all(o in self.subneg for o in wanted), reply_wait):
                return False
        self.ask(WILL, (SGA,))
        self.ask(DO, (ECHO, NAWS))
        self.ask(WILL, (STATUS,))
        self.ask(DO, (LFLOW,))
        if not self.wait_for(lambda: NAWS not in self.pending_do and ECHO not in self.pending_do,
                             reply_wait):
            return False
        self.ask(WILL, (ECHO,))
        self.log_options()
        return True

    def log_options(self):
        fields = {}
        for option, name in ((TTYPE, "terminal"), (TSPEED, "speed"), (XDISPLOC, "display")):
            payload = self.subneg.get(option)
            if payload and payload[0] == IS:
                fields[name] = payload[1:].decode("utf-8", "backslashreplace")
        payload = self.subneg.get(NEW_ENVIRON)
        if payload and payload[0] in (IS, 2):
            fields["environ"] = _environ(payload)
        payload = self.subneg.get(NAWS)
        if payload and len(payload) >= 4:
            fields["window"] = "%dx%d" % (payload[0] * 256 + payload[1], payload[2] * 256 + payload[3])
        if fields:
            self.log("command", command="TELNET-OPTIONS", **fields)

    # --- login(1) --------------------------------------------------------------------
    def read_field(self, echo):
        """One typed line, edited like a tty in canonical mode; None at EOF or ^D."""
        line = bytearray()
        while True:
            while not self.data:
                if not self.pump(LOGIN_TIMEOUT):
                    return None
            byte = self.data[0]
            del self.data[0]
            if self.skip_lf:
                self.skip_lf = False
                if byte in (0x0A, 0x00):
                    continue
            if byte in (0x0D, 0x0A):
                self.skip_lf = byte == 0x0D
                if echo and self.me.get(ECHO):
                    self.send("\r\n")
                return bytes(line).decode("utf-8", "backslashreplace")
            if byte in (0x7F, 0x08):
                if line:
                    line.pop()
                    if echo and self.me.get(ECHO):
                        self.send(b"\b \b")
            elif byte == 0x15:                   # ^U
                if echo and self.me.get(ECHO):
                    self.send(b"\b \b" * len(line))
                line.clear()
            elif byte == 0x04:                   # ^D
                if not line:
                    self.reason = "client_closed"
                    return None
            elif byte >= 0x20 or byte == 0x09:
                if len(line) < MAX_FIELD:
                    line.append(byte)
                    if echo and self.me.get(ECHO):
                        self.send(b"\xff\xff" if byte == IAC else bytes((byte,)))

    def login(self):
        self.deadline = time.monotonic() + LOGIN_TIMEOUT
        issue = _issue(BANNER).replace("\r\n", "\n").rstrip("\n")
        if issue:
            self.send(issue.replace("\n", "\r\n") + "\r\n")
        fails = 0
        while True:
            self.send("%s login: " % HOSTNAME)
            username = self.read_field(echo=True)
            if username is None:
                return
            if not username:
                continue
            self.send("Password: ")
            password = self.read_field(echo=False)
            if password is None:
                self.log("auth", severity="notice", username=username, password="", complete=False)
                return
            self.send("\r\n")
            self.log("auth", severity="notice", username=username, password=password)
            time.sleep(FAIL_DELAY)
            self.send("\r\nLogin incorrect\r\n")
            fails += 1
            if fails >= MAX_LOGIN_FAILS:
                self.reason = "too_many_login_failures"
                return


if __name__ == "__main__":
    serve(TelnetSession, PORT)
