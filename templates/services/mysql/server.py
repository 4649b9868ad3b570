#!/usr/bin/env python3
"""DECNET mysql decoy: a MySQL 8.0 (Ubuntu package) look-alike that records and refuses logins.

Standard library only. Listens on 0.0.0.0:3306 (``DECNET_MYSQL_PORT`` overrides). Speaks the
real client/server protocol far enough for any client to authenticate: a protocol v10
greeting, HandshakeResponse41 parsing (user, scramble, schema, auth plugin, connection
attributes), an AuthSwitchRequest to mysql_native_password for clients that start with
another plugin, then ``ERROR 1045 (28000): Access denied``.

Events (RFC 5424 on stdout, via decnet_logging/decnet_tcp): connect, auth (every login
attempt, severity notice), command (SSL requests, malformed handshakes), disconnect.

Settings: DECNET_MYSQL_VERSION (default ``8.0.36-0ubuntu0.22.04.1``).
"""

import random
import struct

from decnet_tcp import Session, clip, env, serve

VERSION = env("DECNET_MYSQL_VERSION", "8.0.36-0ubuntu0.22.04.1")
PORT = int(env("DECNET_MYSQL_PORT", "3306"))
AUTH_PLUGIN = "mysql_native_password"
CHARSET = 255                 # utf8mb4_0900_ai_ci, the 8.0 default collation
STATUS_AUTOCOMMIT = 0x0002
MAX_PACKET = 64 * 1024        # a handshake response is a few hundred bytes at most

# capability flags
CLIENT_LONG_PASSWORD = 0x00000001
CLIENT_CONNECT_WITH_DB = 0x00000008
CLIENT_PROTOCOL_41 = 0x00000200
CLIENT_SSL = 0x00000800
CLIENT_SECURE_CONNECTION = 0x00008000
CLIENT_PLUGIN_AUTH = 0x00080000
CLIENT_CONNECT_ATTRS = 0x00100000
CLIENT_PLUGIN_AUTH_LENENC = 0x00200000

# what a stock 8.0 server announces (0xffff / 0xdfff), minus CLIENT_SSL: TLS is not offered
SERVER_CAPS = 0xDFFFFFFF & ~CLIENT_SSL

_thread_ids = iter(range(random.randint(8, 400), 1 << 24))
_rng = random.SystemRandom()


def scramble():
    """20 bytes like MySQL's generate_user_salt(): 7-bit, never NUL nor '$'."""
    out = bytearray()
    while len(out) < 20:
        b = _rng.randrange(1, 128)
        if b != 0x24:
            out.append(b)
    return bytes(out)


def lenenc(data, pos):
    """Decode a length-encoded integer at pos: (value, new_pos); raises ValueError."""
    if pos >= len(data):
        raise ValueError("truncated")
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if size is None or pos + 1 + size > len(data):
        raise ValueError("bad length-encoded integer")
    return int.from_bytes(data[pos + 1:pos + 1 + size], "little"), pos + 1 + size


def cstring(data, pos):
    end = data.find(b"\0", pos)
    if end < 0:
        return data[pos:], len(data)
    return data[pos:end], end + 1


def text(raw):
    return raw.decode("utf-8", "backslashreplace")


def parse_handshake_response(data):
    """HandshakeResponse41 (or the old 320 form) -> dict; raises ValueError when malformed."""
    if len(data) < 4:
        raise ValueError("short")
    caps = struct.unpack_from("<H", data, 0)[0]
    out = {"caps": caps}
    if not caps & CLIENT_PROTOCOL_41:
        # HandshakeResponse320: caps(2) max_packet(3) user\0 auth
        if len(data) < 5:
            raise ValueError("short")
        user, pos = cstring(data, 5)
        out.update(user=user, auth=data[pos:].rstrip(b"\0"), db=b"", plugin=b"", attrs=[])
        return out
    if len(data) < 32:
        raise ValueError("short")
    caps = struct.unpack_from("<I", data, 0)[0]
    out["caps"] = caps
    out["charset"] = data[8]
    pos = 32
    if len(data) == 32:
        out["ssl_request"] = True
        return out
    user, pos = cstring(data, pos)
    if caps & CLIENT_PLUGIN_AUTH_LENENC:
        n, pos = lenenc(data, pos)
        auth, pos = data[pos:pos + n], pos + n
    elif caps & CLIENT_SECURE_CONNECTION:
        n = data[pos] if pos < len(data) else 0
        auth, pos = data[pos + 1:pos + 1 + n], pos + 1 + n
    else:
        auth, pos = cstring(data, pos)
    db = b""
    if caps & CLIENT_CONNECT_WITH_DB and pos < len(data):
        db, pos = cstring(data, pos)
    plugin = b""
    if caps & CLIENT_PLUGIN_AUTH and pos < len(data):
        plugin, pos = cstring(data, pos)
    attrs = []
    if caps & CLIENT_CONNECT_ATTRS and pos < len(data):
        try:
            total, pos = lenenc(data, pos)
            end = min(len(data), pos + total)
            while pos < end and len(attrs) < 64:
                klen, pos = lenenc(data, pos)
                key, pos = data[pos:pos + klen], pos + klen
                vlen, pos = lenenc(data, pos)
                val, pos = data[pos:pos + vlen], pos + vlen
                attrs.append((text(key), text(val)))
        except ValueError:
            pass
    out.update(user=user, auth=auth, db=db, plugin=plugin, attrs=attrs)
    return out


class MySQLSession(Session):
    idle_timeout = 10  # connect_timeout: the handshake must complete within 10 s

    def run(self):
        self.thread_id = next(_thread_ids, 4242)
        self.salt = scramble()
        self.caps = CLIENT_PROTOCOL_41
        self.send_packet(0, self.greeting())

        seq, data = self.read_packet()
        if data is None:
            self.reason = "client_closed" if seq is None else "bad_handshake"
            if seq is not None:
                self.bad_handshake(seq + 1)
            return
        if len(data) >= 2:
            self.caps = struct.unpack_from("<H", data, 0)[0]  # decides the ERR packet format
        try:
            resp = parse_handshake_response(data)
        except (ValueError, IndexError, struct.error):
            self.log("command", command="handshake", error="malformed handshake response",
                     data=data[:256].hex())
            self.bad_handshake(seq + 1)
            return
        self.caps = resp["caps"]

        if resp.get("ssl_request"):
            # the greeting did not offer TLS; a client that insists gets what 8.0 sends
            self.log("command", command="ssl_request", client_caps="0x%08x" % resp["caps"])
            self.bad_handshake(seq + 1)
            return

        user = text(resp["user"])
        plugin = text(resp["plugin"])
        auth = resp["auth"]
        first_auth = auth
        seq += 1
        if plugin and plugin != AUTH_PLUGIN:
            # e.g. caching_sha2_password (MySQL 8 clients) or client_ed25519 (MariaDB):
            # ask for mysql_native_password, as a server whose account uses it does
            self.send_packet(seq, b"\xfe" + AUTH_PLUGIN.encode() + b"\0" + self.salt + b"\0")
            seq2, data2 = self.read_packet()
            if data2 is None:
                self.log_auth(user, first_auth, resp, plugin, switched="no_answer")
                self.reason = "client_closed"
                return
            auth = data2
            seq = seq2 + 1
            self.log_auth(user, auth, resp, plugin, switched=AUTH_PLUGIN,
                          initial_auth_response=first_auth.hex())
        else:
            self.log_auth(user, auth, resp, plugin or AUTH_PLUGIN)

        # the server keeps at most USERNAME_BYTE_LENGTH (32 chars * 3) bytes of the name
        shown = resp["user"][:96].decode("utf-8", "replace")
        self.send_error(seq, 1045, "28000", "Access denied for user '%s'@'%s' (using password: %s)"
                        % (shown, self.src_ip, "YES" if auth else "NO"))
        self.reason = "auth_failed"

    # --- protocol pieces ------------------------------------------------------------
    def greeting(self):
        return b"".join((
            b"\x0a",
            VERSION.encode("utf-8", "replace") + b"\0",
            struct.pack("<I", self.thread_id),
            self.salt[:8] + b"\0",
            struct.pack("<H", SERVER_CAPS & 0xFFFF),
            bytes([CHARSET]),
            struct.pack("<H", STATUS_AUTOCOMMIT),
            struct.pack("<H", SERVER_CAPS >> 16),
            bytes([len(self.salt) + 1]),
            b"\0" * 10,
            self.salt[8:] + b"\0",
            AUTH_PLUGIN.encode() + b"\0",
        ))

    def send_packet(self, seq, payload):
        self.send(struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload)

    def read_packet(self):
        """(seq, payload); (None, None) at EOF; (seq, None) when the packet is unacceptable."""
        header = self.recv_exact(4)
        if header is None:
            return None, None
        length = int.from_bytes(header[:3], "little")
        seq = header[3]
        if length > MAX_PACKET:
            # a real server keeps reading (up to max_allowed_packet) until connect_timeout
            # fires; consume without keeping anything, then refuse
            self.log("command", command="handshake", error="oversized packet", length=length)
            left = length - len(self.buffer)
            self.buffer = self.buffer[length:]
            while left > 0:
                chunk = self.request.recv(min(65536, left))
                if not chunk:
                    return None, None
                left -= len(chunk)
            return seq, None
        payload = self.recv_exact(length) if length else b""
        if payload is None:
            return None, None
        return seq, payload

    def send_error(self, seq, code, state, message):
        body = b"\xff" + struct.pack("<H", code)
        if self.caps & CLIENT_PROTOCOL_41:
            body += b"#" + state.encode()
        # MYSQL_ERRMSG_SIZE is 512 including the terminator
        self.send_packet(seq, body + message.encode("utf-8", "replace")[:511])

    def bad_handshake(self, seq):
        self.send_error(seq, 1043, "08S01", "Bad handshake")
        self.reason = "bad_handshake"

    def log_auth(self, user, auth, resp, plugin, **extra):
        fields = {
            "username": user,
            "auth_response": auth.hex(),
            "database": text(resp["db"]),
            "auth_plugin": plugin,
            "client_caps": "0x%08x" % resp["caps"],
        }
        attrs = resp.get("attrs") or []
        for key, value in attrs:
            if key in ("_client_name", "_client_version", "_os", "_platform", "program_name", "_pid"):
                fields[key.lstrip("_")] = value
        if attrs:
            fields["client_attrs"] = clip(";".join("%s=%s" % kv for kv in attrs), 2048)
        fields.update(extra)
        self.log("auth", severity="notice", **fields)


if __name__ == "__main__":
    serve(MySQLSession, PORT)
