#!/usr/bin/env python3
"""DECNET postgres decoy: a PostgreSQL (Debian/Ubuntu package) look-alike that records and
refuses logins.

Standard library only. Listens on 0.0.0.0:5432 (``DECNET_POSTGRES_PORT`` overrides). Speaks the
v3 frontend/backend protocol up to authentication: SSLRequest / GSSENCRequest are declined
with ``N``, the StartupMessage parameters are recorded, the password is requested in
cleartext (AuthenticationCleartextPassword) so it is captured, and the answer is the
``FATAL 28P01 password authentication failed`` ErrorResponse a real server sends.

Events (RFC 5424 on stdout, via decnet_logging/decnet_tcp): connect, command (startup,
SSL/GSS/cancel requests, protocol errors), auth (every password, severity notice),
disconnect.

Settings: DECNET_POSTGRES_VERSION (default ``15.5``): picks the wording of protocol errors.
"""

import struct

from decnet_tcp import Session, serve, env

VERSION = env("DECNET_POSTGRES_VERSION", "15.5")
PORT = int(env("DECNET_POSTGRES_PORT", "5432"))

try:
    MAJOR = int(VERSION.split(".")[0])
except ValueError:
    MAJOR = 15
# protocol 2 went away in 14: "server supports 3.0 to 3.0"
EARLIEST_MAJOR = 3 if MAJOR >= 14 else 2
# source lines for the F/L/R fields of our errors. auth.c ones are those of a real 15.x;
# "startup" follows nmap's PostgreSQL fingerprints, so -sV names the major version.
LINES = {"auth_failed": "334", "pwd_type": "718", "pwd_size": "739", "pwd_empty": "757",
         "startup": "2194", "ssl_data": "2108", "gss_data": "2140", "layout": "2306",
         "no_user": "2323"}
LINES["startup"] = {12: "2119", 13: "2133", 14: "2138", 15: "2194"}.get(MAJOR, "2257")
MITM_DETAIL = ("This could be either a client-software bug or evidence of an attempted "
               "man-in-the-middle attack.")

SSL_REQUEST = 80877103       # 1234.5679
GSSENC_REQUEST = 80877104    # 1234.5680
CANCEL_REQUEST = 80877102    # 1234.5678
MAX_STARTUP = 10000          # MAX_STARTUP_PACKET_LENGTH
MAX_AUTH = 65535             # PG_MAX_AUTH_TOKEN_LENGTH
KNOWN_PARAMS = ("user", "database", "application_name", "client_encoding", "options",
                "replication", "DateStyle", "TimeZone", "extra_float_digits")


def error_response(fields):
    body = b"".join(k.encode() + v.encode("utf-8", "replace") + b"\0" for k, v in fields) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def fatal(code, message, source, line, routine, detail=None):
    fields = [("S", "FATAL"), ("V", "FATAL"), ("C", code), ("M", message)]
    if detail:
        fields.append(("D", detail))
    return error_response(fields + [("F", source), ("L", line), ("R", routine)])


class PostgresSession(Session):
    idle_timeout = 60  # authentication_timeout

    def run(self):
        ssl_done = gss_done = False
        while True:
            head = self.recv_exact(4)
            if head is None:
                # "incomplete startup packet": the server just hangs up
                self.reason = "client_closed"
                return
            length = struct.unpack("!I", head)[0]
            if length < 8 or length > MAX_STARTUP:
                # "invalid length of startup packet" is only logged server side
                self.log("command", command="invalid_startup", length=length,
                         data=(head + self.buffer[:60]).hex())
                self.reason = "invalid_startup_length"
                return
            body = self.recv_exact(length - 4)
            if body is None:
                return
            proto = struct.unpack_from("!I", body, 0)[0]

            if proto == CANCEL_REQUEST:
                self.log("command", command="cancel_request", data=body[4:].hex())
                self.reason = "cancel_request"
                return
            if proto in (SSL_REQUEST, GSSENC_REQUEST) and not (ssl_done if proto == SSL_REQUEST else gss_done):
                ssl = proto == SSL_REQUEST
                self.log("command", command="ssl_request" if ssl else "gssenc_request")
                self.send(b"N")
                if self.buffer:
                    # bytes sent before our answer: the server refuses them (CVE-2021-23214)
                    self.send(fatal("08P01", "received unencrypted data after %s request"
                                    % ("SSL" if ssl else "GSSAPI encryption"),
                                    "postmaster.c", LINES["ssl_data" if ssl else "gss_data"],
                                    "ProcessStartupPacket", MITM_DETAIL))
                    self.reason = "protocol_violation"
                    return
                if ssl:
                    ssl_done = True
                else:
                    gss_done = True
                continue
            major, minor = proto >> 16, proto & 0xFFFF
            if major < EARLIEST_MAJOR or major > 3:
                self.log("command", command="unsupported_protocol", protocol="%d.%d" % (major, minor),
                         data=body[:64].hex())
                message = "unsupported frontend protocol %d.%d: server supports %d.0 to 3.0" % (
                    major, minor, EARLIEST_MAJOR)
                if major < 3:
                    # the error goes out in the client's (v2) framing
                    self.send(b"EFATAL:  " + message.encode() + b"\n\0")
                else:
                    self.send(fatal("0A000", message, "postmaster.c", LINES["startup"],
                                    "ProcessStartupPacket"))
                self.reason = "unsupported_protocol"
                return
            if not body.endswith(b"\0"):
                self.log("command", command="invalid_startup", error="no terminator", data=body[:64].hex())
                self.send(fatal("08P01", "invalid startup packet layout: expected terminator as last byte",
                                "postmaster.c", LINES["layout"], "ProcessStartupPacket"))
                self.reason = "protocol_violation"
                return
            return self.startup(major, minor, body[4:])

    def startup(self, major, minor, payload):
        parts = payload.split(b"\0")
        params, unknown_pq = {}, []
        i = 0
        while i + 1 < len(parts) and parts[i] and len(params) < 64:
            key = parts[i].decode("utf-8", "backslashreplace")
            val = parts[i + 1].decode("utf-8", "backslashreplace")
            if key.startswith("_pq_."):
                unknown_pq.append(key)
            else:
                params[key] = val
            i += 2
        user = params.get("user", "")
        database = params.get("database") or user
        extra = {k: v for k, v in params.items() if k not in ("user", "database", "application_name")}
        self.log("command", command="startup", protocol="%d.%d" % (major, minor), username=user,
                 database=database, application_name=params.get("application_name", ""),
                 params=";".join("%s=%s" % kv for kv in extra.items()))

        if not user:
            self.send(fatal("28000", "no PostgreSQL user name specified in startup packet",
                            "postmaster.c", LINES["no_user"], "ProcessStartupPacket"))
            self.reason = "no_user"
            return
        if minor > 0 or unknown_pq:
            # NegotiateProtocolVersion: newest minor we speak, plus options we ignored
            body = struct.pack("!II", 3 << 16, len(unknown_pq))
            body += b"".join(k.encode("utf-8", "replace") + b"\0" for k in unknown_pq)
            self.send(b"v" + struct.pack("!I", len(body) + 4) + body)

        self.send(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword

        kind = self.recv_exact(1)
        if kind is None:
            # libpq hangs up here when it has no password, then asks the user for one
            self.log("command", command="no_password", username=user, database=database)
            self.reason = "client_closed"
            return
        head = self.recv_exact(4)
        if head is None:
            return
        length = struct.unpack("!I", head)[0]
        if kind != b"p":
            self.log("command", command="unexpected_message", type=repr(kind)[2:-1], length=length)
            self.send(fatal("08P01", "expected password response, got message type %d" % kind[0],
                            "auth.c", LINES["pwd_type"], "recv_password_packet"))
            self.reason = "protocol_violation"
            return
        if length < 4 or length > MAX_AUTH + 4:
            # "invalid message length" is only logged; the connection just ends
            self.log("command", command="invalid_password_packet", length=length)
            self.reason = "protocol_violation"
            return
        data = self.recv_exact(length - 4) if length > 4 else b""
        if data is None:
            self.reason = "client_closed"
            return
        password = data.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
        self.log("auth", severity="notice", username=user, password=password, database=database,
                 application_name=params.get("application_name", ""))
        if not data or data.find(b"\0") != len(data) - 1:
            self.send(fatal("08P01", "invalid password packet size", "auth.c", LINES["pwd_size"],
                            "recv_password_packet"))
            self.reason = "protocol_violation"
        elif len(data) == 1:
            self.send(fatal("28P01", "empty password returned by client", "auth.c", LINES["pwd_empty"],
                            "recv_password_packet"))
            self.reason = "auth_failed"
        else:
            self.send(fatal("28P01", 'password authentication failed for user "%s"' % user,
                            "auth.c", LINES["auth_failed"], "auth_failed"))
            self.reason = "auth_failed"


if __name__ == "__main__":
    serve(PostgresSession, PORT)
