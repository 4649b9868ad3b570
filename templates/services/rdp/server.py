#!/usr/bin/env python3
"""DECNET rdp decoy: a Windows Remote Desktop listener with Network Level Authentication.

Standard library plus python3-cryptography (for its self-signed certificate, via decnet_tls).
Listens on 0.0.0.0:3389 (``DECNET_RDP_PORT`` overrides). Like a default Windows Server it answers
an X.224 Connection Request with a Connection Confirm selecting CredSSP (HYBRID, or HYBRID_EX
when offered), upgrades to TLS with a self-signed certificate for ``DECNET_HOSTNAME`` (kept
under /var/lib/decnet/tls/), and runs CredSSP/NTLM far enough to capture the logon: the
CHALLENGE names the host, its domain (``DECNET_RDP_DOMAIN``, else ``DECNET_SMB_DOMAIN``, else
WORKGROUP) and Windows version (``DECNET_RDP_OS``, else ``DECNET_SMB_OS``, else 2019); the
AUTHENTICATE is logged and refused with STATUS_LOGON_FAILURE. ``DECNET_RDP_NLA=0`` also lets
TLS-only and legacy clients in as far as their MCS Connect Initial (client name and build are
logged).

Events (RFC 5424 on stdout, via decnet_logging): connect, negotiate (requested protocols,
cookie), auth (the mstshash cookie's user name; every NTLM logon with a hashcat line), tls,
client (MCS client data), probe (not RDP), disconnect (with the reason, e.g. a failed TLS
handshake).
"""

import os
import ssl
import struct
import threading
import time

import decnet_ntlm as ntlm
import decnet_tls
from decnet_logging import log_event
from decnet_tcp import Session, clip, env, serve

IDENTITY = ntlm.Identity.from_env("rdp")
PORT = int(env("DECNET_RDP_PORT", "3389"))
HOSTNAME = os.environ.get("DECNET_HOSTNAME") or os.environ.get("DECNET_DECKY") or IDENTITY.computer
NLA_REQUIRED = env("DECNET_RDP_NLA", "1").strip().lower() not in ("0", "no", "false", "off")
TLS_DIR = "/var/lib/decnet/tls"

PROTOCOL_RDP, PROTOCOL_SSL, PROTOCOL_HYBRID, PROTOCOL_RDSTLS, PROTOCOL_HYBRID_EX = 0, 1, 2, 4, 8
PROTOCOL_NAMES = ((PROTOCOL_SSL, "ssl"), (PROTOCOL_HYBRID, "hybrid"), (PROTOCOL_RDSTLS, "rdstls"),
                  (PROTOCOL_HYBRID_EX, "hybrid_ex"), (0x10, "rdsaad"))
HYBRID_REQUIRED_BY_SERVER = 0x05
NEG_RSP_FLAGS = 0x1F        # what Windows 10 / Server 2016+ announce
CREDSSP_VERSION = 6
STATUS_LOGON_FAILURE = 0xC000006D

MAX_TPKT = 8192             # a Connection Request / Connect Initial is far smaller
MAX_TS_REQUEST = 65536
HANDSHAKE_TIMEOUT = 15
MAX_HASH_LOGGED = 8192


# --- certificate ----------------------------------------------------------------------------
def tls_context():
    # Windows renews its RDP certificate every 6 months; Windows Server 2019 has no TLS 1.3
    crt, key = decnet_tls.load_or_create_certificate(TLS_DIR, HOSTNAME, name="rdp", valid_days=182,
                                                     profile=decnet_tls.RDP)
    return decnet_tls.server_context(crt, key, maximum_version=ssl.TLSVersion.TLSv1_2)


TLS_CONTEXT = None


# --- RDP / CredSSP encoding ---------------------------------------------------------------
def protocol_names(value):
    names = [name for bit, name in PROTOCOL_NAMES if value & bit]
    return ",".join(names) if names else "rdp"


def parse_connection_request(tpdu):
    """X.224 CR -> dict(cookie, routing_token, neg_flags, protocols or None)."""
    info = {"cookie": None, "routing_token": None, "neg_flags": 0, "protocols": None}
    variable = tpdu[7:]
    if variable[:8] == b"Cookie: " or variable[:4] == b"tsv:":
        end = variable.find(b"\r\n")
        end = len(variable) if end < 0 else end
        line, variable = variable[:end], variable[end + 2:]
        text = line.decode("latin-1")[:256]
        if text.startswith("Cookie: mstshash="):
            info["cookie"] = text[len("Cookie: mstshash="):]
        else:
            info["routing_token"] = text
    if len(variable) >= 8 and variable[0] == 0x01:     # RDP_NEG_REQ
        info["neg_flags"] = variable[1]
        info["protocols"] = struct.unpack_from("<I", variable, 4)[0]
    return info


def connection_confirm(selected=None, failure=None):
    if failure is not None:
        neg = struct.pack("<BBHI", 0x03, 0, 8, failure)
    elif selected is not None:
        neg = struct.pack("<BBHI", 0x02, NEG_RSP_FLAGS, 8, selected)
    else:
        neg = b""
    x224 = bytes([6 + len(neg), 0xD0, 0, 0, 0x12, 0x34, 0]) + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def ts_request(version, token=b"", error=None):
    body = ntlm.der(0xA0, ntlm.der(0x02, bytes([version])))
    if token:
        body += ntlm.der(0xA1, ntlm.der(0x30, ntlm.der(0x30, ntlm.der(0xA0, ntlm.der(0x04, token)))))
    if error is not None:
        body += ntlm.der(0xA4, ntlm.der(0x02, struct.pack(">I", error)))   # as Windows: 4 bytes
    return ntlm.der(0x30, body)


def parse_ts_request(data):
    head = ntlm.der_header(data, 0)
    if head is None or head[0] != 0x30:
        return None
    out = {"version": 0, "token": b"", "auth_info": False, "pub_key_auth": False, "error": None}
    for tag, content in ntlm.der_children(data, head[1], head[2]):
        inner = ntlm.der_children(content)
        if tag == 0xA0 and inner and inner[0][0] == 0x02:
            out["version"] = int.from_bytes(inner[0][1][:4], "big")
        elif tag == 0xA1:           # NegoData: SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
            for _, item in inner[:1]:
                for tag2, value in ntlm.der_children(item)[:1]:
                    for tag3, field in ntlm.der_children(value):
                        if tag3 == 0xA0:
                            octets = ntlm.der_children(field)
                            if octets and octets[0][0] == 0x04:
                                out["token"] = octets[0][1]
        elif tag == 0xA2:
            out["auth_info"] = True
        elif tag == 0xA3:
            out["pub_key_auth"] = True
        elif tag == 0xA4 and inner:
            out["error"] = int.from_bytes(inner[0][1][:4], "big")
    return out


def parse_client_core(data):
    """Client name / build / keyboard from an MCS Connect Initial's TS_UD_CS_CORE, if any."""
    idx = data.find(b"\x01\xc0")
    while idx >= 0:
        if idx + 56 <= len(data):
            length, version = struct.unpack_from("<HI", data, idx + 2)
            if 56 <= length <= 1024 and version >> 16 == 0x0008:
                width, height = struct.unpack_from("<HH", data, idx + 8)
                keyboard, build = struct.unpack_from("<II", data, idx + 16)
                name = data[idx + 24:idx + 56].decode("utf-16-le", "replace").split("\x00")[0]
                return {"client_name": name, "client_build": build, "keyboard_layout": "0x%08x" % keyboard,
                        "desktop": "%dx%d" % (width, height), "rdp_version": "0x%08x" % version}
        idx = data.find(b"\x01\xc0", idx + 1)
    return {}


# --- session --------------------------------------------------------------------------------
class RDPSession(Session):
    idle_timeout = 60

    def setup(self):
        self.extra = {}
        self.tls = None
        super().setup()

    def finish(self):
        if self.tls is not None:
            try:
                self.tls.close()
            except OSError:
                pass
        log_event("disconnect", self.src_ip, self.src_port, reason=self.reason,
                  duration="%.3f" % (time.monotonic() - self.started), **self.extra)

    def log_auth(self, **fields):
        log_event("auth", self.src_ip, self.src_port, severity="notice",
                  **{k: clip(v, MAX_HASH_LOGGED if k.endswith("_hash") else 1024) for k, v in fields.items()})

    def read_tpkt(self):
        head = self.recv_exact(4)
        if head is None:
            return None
        length = struct.unpack_from(">H", head, 2)[0]
        if head[0] != 3 or not 7 <= length <= MAX_TPKT:
            self.log("probe", data=(head + self.buffer[:60]).hex())
            self.reason = "protocol_error"
            return None
        body = self.recv_exact(length - 4)
        return body

    def run(self):
        tpdu = self.read_tpkt()
        if tpdu is None:
            return
        if len(tpdu) < 7 or tpdu[1] & 0xF0 != 0xE0:
            self.log("probe", data=tpdu[:64].hex())
            self.reason = "protocol_error"
            return
        request = parse_connection_request(tpdu)
        requested = request["protocols"]
        selected = failure = None
        if requested is not None:
            if requested & PROTOCOL_HYBRID_EX:
                selected = PROTOCOL_HYBRID_EX
            elif requested & PROTOCOL_HYBRID:
                selected = PROTOCOL_HYBRID
            elif requested & PROTOCOL_RDSTLS:
                selected = PROTOCOL_RDSTLS
            elif NLA_REQUIRED:
                failure = HYBRID_REQUIRED_BY_SERVER
            else:
                selected = PROTOCOL_SSL if requested & PROTOCOL_SSL else PROTOCOL_RDP
        fields = {"requested_protocols": "none" if requested is None else protocol_names(requested),
                  "selected_protocol": ("failure:hybrid_required" if failure is not None else
                                        "rdp" if selected is None else protocol_names(selected))}
        if request["cookie"] is not None:
            fields["cookie"] = "mstshash=" + request["cookie"]
        if request["routing_token"]:
            fields["routing_token"] = request["routing_token"]
        self.log("negotiate", **fields)
        if request["cookie"]:
            self.log_auth(method="mstshash", username=request["cookie"],
                          requested_protocols=fields["requested_protocols"])
        self.send(connection_confirm(selected, failure))
        if failure is not None:
            self.reason = "nla_required"
            return
        if selected in (PROTOCOL_HYBRID, PROTOCOL_HYBRID_EX, PROTOCOL_SSL, PROTOCOL_RDSTLS):
            if not self.start_tls():
                return
            if selected == PROTOCOL_SSL:
                self.read_connect_initial()
            elif selected == PROTOCOL_RDSTLS:
                self.reason = "rdstls_not_offered"    # no redirection token to check: hang up
            else:
                self.credssp()
            return
        self.read_connect_initial()       # standard RDP security: see who it is, then hang up

    def start_tls(self):
        if self.buffer:                   # data pipelined before the Connection Confirm: not TLS
            self.log("probe", data=self.buffer[:64].hex())
            self.reason = "protocol_error"
            return False
        raw = self.request
        raw.settimeout(HANDSHAKE_TIMEOUT)
        try:
            self.tls = TLS_CONTEXT.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            self.tls.do_handshake()
        except (ssl.SSLError, OSError, ValueError) as exc:
            self.reason = "tls_handshake_failed"
            self.extra["tls_error"] = decnet_tls.handshake_failure(exc)
            return False
        self.tls.settimeout(self.idle_timeout)
        self.request = self.tls
        cipher = self.tls.cipher() or ("", "", 0)
        self.log("tls", version=self.tls.version() or "", cipher=cipher[0])
        return True

    def read_der(self):
        head = self.recv_exact(2)
        if head is None:
            return None
        extra = b""
        length = head[1]
        if length & 0x80:
            count = length & 0x7F
            if not 1 <= count <= 3:
                self.reason = "protocol_error"
                return None
            extra = self.recv_exact(count)
            if extra is None:
                return None
            length = int.from_bytes(extra, "big")
        if head[0] != 0x30 or length > MAX_TS_REQUEST:
            self.log("probe", data=(head + extra).hex())
            self.reason = "protocol_error"
            return None
        body = self.recv_exact(length)
        if body is None:
            return None
        return head + extra + body

    def credssp(self):
        challenge = None
        for _ in range(4):
            data = self.read_der()
            if data is None:
                return
            request = parse_ts_request(data)
            if request is None:
                self.reason = "protocol_error"
                return
            version = min(max(request["version"], 2), CREDSSP_VERSION)
            token, spnego = ntlm.extract_ntlm(request["token"])
            kind = ntlm.message_type(token)
            if kind == 1:
                negotiate = ntlm.parse_negotiate(token) or {}
                details = {k: negotiate[k] for k in ("domain", "workstation", "version") if negotiate.get(k)}
                self.log("credssp", stage="negotiate", credssp_version=request["version"],
                         **{("client_" + k if k == "version" else k): v for k, v in details.items()})
                challenge = os.urandom(8)
                message = ntlm.challenge_message(IDENTITY, challenge, negotiate.get("flags"))
                self.send(ts_request(version, ntlm.wrap(message, spnego, True)))
                continue
            if kind == 3:
                auth = ntlm.parse_authenticate(token)
                if auth is not None:
                    fields = ntlm.auth_fields(auth, challenge or b"\x00" * 8)
                    fields["method"] = "credssp"
                    fields["credssp_version"] = request["version"]
                    if challenge is None:
                        fields["note"] = "no_challenge"
                    self.log_auth(**fields)
            else:
                self.log("credssp", stage="unknown_token", token=request["token"][:96].hex(),
                         credssp_version=request["version"])
            if request["version"] >= 3:
                self.send(ts_request(version, error=STATUS_LOGON_FAILURE))
            self.reason = "logon_failure" if kind == 3 else "protocol_error"
            return
        self.reason = "protocol_error"

    def read_connect_initial(self):
        tpdu = self.read_tpkt()
        if tpdu is None:
            return
        details = parse_client_core(tpdu)
        if details:
            self.log("client", **details)
        self.reason = "closed"


def main():
    global TLS_CONTEXT
    threading.excepthook = lambda args: None
    TLS_CONTEXT = tls_context()
    serve(RDPSession, PORT)


if __name__ == "__main__":
    main()
