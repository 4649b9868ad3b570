#!/usr/bin/env python3
"""DECNET smb decoy: a Windows file server's SMB front door that records every logon attempt.

Standard library only. Listens on 0.0.0.0:445 (direct SMB over TCP; ``DECNET_SMB_PORT``) and
0.0.0.0:139 (NetBIOS session service; ``DECNET_SMB_NETBIOS_PORT``, 0 turns it off).

Speaks enough SMB1 (NT LM 0.12, with and without extended security) and SMB2/3 (2.0.2 up to
3.1.1) to negotiate and run an NTLMSSP logon: the CHALLENGE names the host
(``DECNET_HOSTNAME``), its domain (``DECNET_SMB_DOMAIN``, default WORKGROUP) and Windows
version (``DECNET_SMB_OS``: 2019 by default, 2022/2016/2012r2/2012/2008r2/win11/win10/win7).
Every AUTHENTICATE is logged and refused with STATUS_LOGON_FAILURE; a null session (as nmap's
smb-os-discovery opens) is let in, and then denied every share.

Events (RFC 5424 on stdout, via decnet_logging): connect, netbios_session (139), negotiate,
auth (every logon attempt: domain, username, workstation, hashcat line), session_setup (a
non-NTLM token), tree_connect, probe (anything that is not SMB), disconnect.
"""

import os
import struct
import threading
import uuid

import decnet_ntlm as ntlm
from decnet_logging import log_event
from decnet_tcp import DecoyServer, Session, clip, env, serve

IDENTITY = ntlm.Identity.from_env("smb")
PORT = int(env("DECNET_SMB_PORT", "445"))
NETBIOS_PORT = int(env("DECNET_SMB_NETBIOS_PORT", "139"))
STATE_DIR = "/var/lib/decnet/smb"

MAX_MESSAGE = 128 * 1024    # larger SMB messages end the connection (none is needed pre-logon)
MAX_MESSAGES = 256          # per connection
MAX_PENDING = 16            # NTLM exchanges in flight per connection
MAX_HASH_LOGGED = 8192

STATUS_SUCCESS = 0x00000000
STATUS_NOT_IMPLEMENTED = 0xC0000002
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_LOGON_FAILURE = 0xC000006D
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_USER_SESSION_DELETED = 0xC0000203

SMB1_NEGOTIATE, SMB1_SESSION_SETUP, SMB1_LOGOFF = 0x72, 0x73, 0x74
SMB1_TREE_CONNECT, SMB1_TREE_DISCONNECT, SMB1_ECHO = 0x75, 0x71, 0x2B

SMB2_NEGOTIATE, SMB2_SESSION_SETUP, SMB2_LOGOFF, SMB2_TREE_CONNECT = 0, 1, 2, 3
SMB2_TREE_DISCONNECT, SMB2_CANCEL, SMB2_ECHO = 4, 12, 13
SMB2_DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)

CLOSE = object()   # a handler's way of saying: hang up now


def _server_guid():
    """Stable for the life of the container (kept under STATE_DIR)."""
    path = os.path.join(STATE_DIR, "server_guid")
    try:
        with open(path, "rb") as fh:
            data = fh.read(16)
        if len(data) == 16:
            return data
    except OSError:
        pass
    data = uuid.uuid4().bytes_le
    try:
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError:
        pass
    return data


SERVER_GUID = _server_guid()


def _z_strings(data, count, unicode_):
    """Up to count NUL-terminated strings from data (UTF-16LE or 8-bit)."""
    out = []
    pos = 0
    for _ in range(count):
        if pos >= len(data):
            break
        if unicode_:
            end = pos
            while end + 1 < len(data) and data[end:end + 2] != b"\x00\x00":
                end += 2
            out.append(data[pos:end].decode("utf-16-le", "replace")[:256])
            pos = end + 2
        else:
            end = data.find(b"\x00", pos)
            end = len(data) if end < 0 else end
            out.append(data[pos:end].decode("latin-1")[:256])
            pos = end + 1
    return out


def _z(text, unicode_):
    return text.encode("utf-16-le") + b"\x00\x00" if unicode_ else text.encode("latin-1", "replace") + b"\x00"


def _netbios_name(data, pos):
    """(decoded first-level-encoded NetBIOS name like 'FS01<20>', next position)."""
    if pos >= len(data) or data[pos] != 32 or pos + 33 > len(data):
        return "", len(data)
    raw = data[pos + 1:pos + 33]
    name = bytes((((raw[i] - 0x41) & 0x0F) << 4) | ((raw[i + 1] - 0x41) & 0x0F) for i in range(0, 32, 2))
    pos += 33
    while pos < len(data) and data[pos] != 0:   # scope labels
        pos += 1 + data[pos]
    label = name[:15].decode("latin-1").rstrip(" ")
    return "%s<%02x>" % ("".join(c if 32 <= ord(c) < 127 else "?" for c in label), name[15]), pos + 1


class SMBSession(Session):
    idle_timeout = 120
    netbios = False

    def run(self):
        self.transport = "netbios" if self.netbios else "direct"
        self.smb1_dialect = None        # SMB1 negotiated (extended security?)
        self.smb1_challenge = b""       # non-extended-security challenge
        self.smb2_dialect = None
        self.pending = {}               # uid / session id -> our NTLM server challenge
        self.sessions = set()           # uids / session ids let in (null sessions)
        if self.netbios and not self._netbios_session():
            return
        for _ in range(MAX_MESSAGES):
            data = self._read_message()
            if data is None:
                return
            proto = data[:4]
            if proto == b"\xffSMB" and self.smb2_dialect is None:
                reply = self.smb1(data)
            elif proto == b"\xfeSMB":
                reply = self.smb2(data)
            else:
                self._probe(data)
                self.reason = "protocol_error"
                return
            if reply is CLOSE:
                return
            if reply:
                self.send(b"\x00" + len(reply).to_bytes(3, "big") + reply)
        self.reason = "too_many_messages"

    # --- framing --------------------------------------------------------------------------
    def _netbios_session(self):
        for _ in range(8):
            head = self.recv_exact(4)
            if head is None:
                return False
            kind, length = head[0], ((head[1] & 1) << 16) | int.from_bytes(head[2:4], "big")
            if kind == 0x85:        # keep-alive
                continue
            if kind != 0x81 or length > 512:
                # like Windows: anything but a SESSION REQUEST gets a negative response
                self._probe(head + self.buffer[:60])
                self.send(b"\x83\x00\x00\x01\x8f")
                self.reason = "netbios_rejected"
                return False
            body = self.recv_exact(length)
            if body is None:
                return False
            called, pos = _netbios_name(body, 0)
            calling, _ = _netbios_name(body, pos)
            self.log("netbios_session", called=called, calling=calling)
            self.send(b"\x82\x00\x00\x00")
            return True
        self.reason = "protocol_error"
        return False

    def _read_message(self):
        while True:
            head = self.recv_exact(4)
            if head is None:
                return None
            kind, length = head[0], int.from_bytes(head[1:], "big")
            if self.netbios:
                if kind == 0x85:
                    continue
                length &= 0x1FFFF
            if kind != 0:
                self._probe(head + self.buffer[:60])
                self.reason = "protocol_error"
                return None
            if length > MAX_MESSAGE:
                self.log("probe", severity="warning", transport=self.transport, length=length,
                         data=(head + self.buffer[:60]).hex())
                self.reason = "message_too_large"
                return None
            if length == 0:
                continue
            data = self.recv_exact(length)
            return data

    def _probe(self, data):
        self.log("probe", transport=self.transport, data=data[:64].hex())

    def log_auth(self, **fields):
        log_event("auth", self.src_ip, self.src_port, severity="notice",
                  **{k: clip(v, MAX_HASH_LOGGED if k.endswith(("_hash", "_response")) else 1024)
                     for k, v in fields.items()})

    def _new_challenge(self, key):
        while len(self.pending) >= MAX_PENDING:
            self.pending.pop(next(iter(self.pending)))
        challenge = os.urandom(8)
        self.pending[key] = challenge
        return challenge

    # --- NTLM over either protocol --------------------------------------------------------
    def ntlm_step(self, key, blob, protocol):
        """(status, security blob to return) for one session-setup security blob."""
        token, spnego = ntlm.extract_ntlm(blob)
        kind = ntlm.message_type(token)
        if kind == 1:
            negotiate = ntlm.parse_negotiate(token) or {}
            challenge = self._new_challenge(key)
            message = ntlm.challenge_message(IDENTITY, challenge, negotiate.get("flags"))
            return STATUS_MORE_PROCESSING_REQUIRED, ntlm.wrap(message, spnego, True)
        if kind == 3:
            challenge = self.pending.pop(key, None)
            auth = ntlm.parse_authenticate(token)
            if auth is None:
                self.log("session_setup", protocol=protocol, mech="ntlmssp", error="malformed_authenticate")
                return STATUS_INVALID_PARAMETER, b""
            fields = ntlm.auth_fields(auth, challenge or b"\x00" * 8)
            if challenge is None:
                fields["note"] = "no_challenge"
            anonymous = ntlm.is_anonymous(auth)
            self.log_auth(protocol=protocol, result="null_session" if anonymous else "failed", **fields)
            if anonymous and challenge is not None:
                self.sessions.add(key)
                return STATUS_SUCCESS, (ntlm.spnego_response(ntlm.ACCEPT_COMPLETED) if spnego else b"")
            return STATUS_LOGON_FAILURE, b""
        if blob[:1] == b"\x60" and len(self.pending) < MAX_PENDING:
            # a SPNEGO init without NTLM (Kerberos first, or mechTypes only): ask for NTLMSSP
            self.log("session_setup", protocol=protocol, mech="other", token=blob[:96].hex())
            self.pending.setdefault(key, os.urandom(8))
            return STATUS_MORE_PROCESSING_REQUIRED, ntlm.spnego_response(ntlm.ACCEPT_INCOMPLETE, mech=True)
        self.log("session_setup", protocol=protocol, mech="unknown", token=blob[:96].hex())
        return STATUS_LOGON_FAILURE, b""

    # --- SMB1 -------------------------------------------------------------------------------
    def smb1(self, data):
        if len(data) < 35:
            self.reason = "malformed"
            return CLOSE
        hdr = {
            "cmd": data[4], "flags": data[9],
            "flags2": struct.unpack_from("<H", data, 10)[0],
            "pid_high": struct.unpack_from("<H", data, 12)[0],
        }
        hdr["tid"], hdr["pid"], hdr["uid"], hdr["mid"] = struct.unpack_from("<HHHH", data, 24)
        wc = data[32]
        pos = 33 + 2 * wc
        if len(data) < pos + 2:
            self.reason = "malformed"
            return CLOSE
        words = data[33:pos]
        count = struct.unpack_from("<H", data, pos)[0]
        payload = data[pos + 2:pos + 2 + count]
        cmd = hdr["cmd"]
        if cmd == SMB1_NEGOTIATE:
            return self.smb1_negotiate(hdr, payload)
        if self.smb1_dialect is None:     # Windows hangs up on anything before NEGOTIATE
            self.reason = "protocol_error"
            return CLOSE
        if cmd == SMB1_SESSION_SETUP:
            return self.smb1_session_setup(hdr, wc, words, payload, pos + 2)
        if cmd == SMB1_LOGOFF:
            self.sessions.discard(("smb1", hdr["uid"]))
            return self.smb1_reply(hdr, STATUS_SUCCESS, struct.pack("<BBH", 0xFF, 0, 0))
        if cmd == SMB1_TREE_DISCONNECT:
            return self.smb1_reply(hdr, STATUS_SUCCESS)
        if cmd == SMB1_ECHO:
            return self.smb1_reply(hdr, STATUS_SUCCESS, struct.pack("<H", 1), payload[:4096])
        if cmd == SMB1_TREE_CONNECT and wc == 4:
            pw_len = struct.unpack_from("<H", words, 6)[0]
            unicode_ = bool(hdr["flags2"] & 0x8000)
            start = pw_len + (1 if unicode_ and (pos + 2 + pw_len) % 2 else 0)
            path = _z_strings(payload[start:], 1, unicode_)
            self.log("tree_connect", protocol="SMB1", path=path[0] if path else "")
        return self.smb1_reply(hdr, STATUS_ACCESS_DENIED)

    def smb1_reply(self, hdr, status, words=b"", payload=b"", uid=None):
        flags2 = 0x4001 | (hdr["flags2"] & (0x8000 | 0x2000 | 0x0800 | 0x0040 | 0x0002))
        head = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", hdr["cmd"], status, 0x88 | (hdr["flags"] & 0x10),
                           flags2, hdr["pid_high"], b"\x00" * 8, 0, hdr["tid"], hdr["pid"],
                           hdr["uid"] if uid is None else uid, hdr["mid"])
        return head + bytes([len(words) // 2]) + words + struct.pack("<H", len(payload)) + payload

    def smb1_negotiate(self, hdr, payload):
        if self.smb1_dialect is not None:
            self.reason = "protocol_error"
            return CLOSE
        dialects = [d.decode("latin-1") for d in payload.split(b"\x02")[1:65]]
        dialects = [d.rstrip("\x00") for d in dialects]
        self.log("negotiate", protocol="SMB1", transport=self.transport,
                 dialects=",".join(d for d in dialects if d), extended_security=bool(hdr["flags2"] & 0x0800))
        if "SMB 2.???" in dialects and IDENTITY.max_dialect >= 0x0210:
            return self.smb2_negotiate_reply(None, 0x02FF)
        if "SMB 2.002" in dialects:
            return self.smb2_negotiate_reply(None, 0x0202)
        if "NT LM 0.12" not in dialects:
            return self.smb1_reply(hdr, STATUS_SUCCESS, struct.pack("<H", 0xFFFF))
        index = dialects.index("NT LM 0.12")
        extended = bool(hdr["flags2"] & 0x0800)
        self.smb1_dialect = "extended" if extended else "basic"
        if IDENTITY.server:        # Windows Server: 50 mpx, 16644 buffer
            max_mpx, max_buffer, caps = 50, 16644, 0x0001F3FC
        else:                      # Windows client
            max_mpx, max_buffer, caps = 10, 4356, 0x0001E3FC
        if extended:
            caps |= 0x80000000
        words = struct.pack("<HBHHIIIIQhB", index, 0x03, max_mpx, 1, max_buffer, 65536, 0, caps,
                            ntlm.filetime(), 0, 0 if extended else 8)
        if extended:
            payload = SERVER_GUID + ntlm.spnego_init()
        else:
            self.smb1_challenge = os.urandom(8)
            payload = self.smb1_challenge + _z(IDENTITY.domain, True) + _z(IDENTITY.computer, True)
        return self.smb1_reply(hdr, STATUS_SUCCESS, words, payload)

    def smb1_session_setup(self, hdr, wc, words, payload, payload_offset):
        unicode_ = bool(hdr["flags2"] & 0x8000)
        if wc == 12:                            # extended security: an NTLMSSP/SPNEGO blob
            blob_len = struct.unpack_from("<H", words, 14)[0]
            uid = hdr["uid"] or (0x0800 + int.from_bytes(os.urandom(2), "little") % 0xF000)
            status, blob = self.ntlm_step(("smb1", uid), payload[:blob_len], "SMB1")
            if status in (STATUS_SUCCESS, STATUS_MORE_PROCESSING_REQUIRED):
                return self.smb1_setup_reply(hdr, status, uid, blob, unicode_)
            return self.smb1_reply(hdr, status, uid=uid)
        if wc != 13:
            return self.smb1_reply(hdr, STATUS_INVALID_PARAMETER)
        # basic security: LM/NTLM responses to the challenge we sent in NEGOTIATE
        oem_len, uni_len = struct.unpack_from("<HH", words, 14)
        oem, uni = payload[:oem_len], payload[oem_len:oem_len + uni_len]
        start = oem_len + uni_len
        if unicode_ and (payload_offset + start) % 2:
            start += 1
        names = _z_strings(payload[start:], 4, unicode_) + ["", "", "", ""]
        account, domain, client_os, client_lanman = names[:4]
        challenge = self.smb1_challenge or b"\x00" * 8
        fields = {"method": "ntlm", "username": account, "domain": domain,
                  "client_os": client_os, "client_lanman": client_lanman}
        anonymous = not account and not uni and oem in (b"", b"\x00")
        name, line = ntlm.hash_line(account, domain, challenge, oem[:ntlm.MAX_RESPONSE], uni[:ntlm.MAX_RESPONSE])
        if name:
            fields[name] = line
        elif oem and not uni and not anonymous:
            fields["method"] = "plaintext"
            fields["password"] = oem.rstrip(b"\x00").decode("latin-1")
        if anonymous:
            fields["anonymous"] = "true"
        self.log_auth(protocol="SMB1", result="null_session" if anonymous else "failed", **fields)
        if not anonymous:
            return self.smb1_reply(hdr, STATUS_LOGON_FAILURE)
        uid = hdr["uid"] or (0x0800 + int.from_bytes(os.urandom(2), "little") % 0xF000)
        self.sessions.add(("smb1", uid))
        out = (b"\x00" if unicode_ else b"") + self._native_strings(unicode_)   # 41 + 1: aligned
        return self.smb1_reply(hdr, STATUS_SUCCESS, struct.pack("<BBHH", 0xFF, 0, 0, 0), out, uid=uid)

    def smb1_setup_reply(self, hdr, status, uid, blob, unicode_):
        words = struct.pack("<BBHHH", 0xFF, 0, 0, 0, len(blob))
        pad = b"\x00" if unicode_ and (32 + 1 + len(words) + 2 + len(blob)) % 2 else b""
        return self.smb1_reply(hdr, status, words, blob + pad + self._native_strings(unicode_), uid=uid)

    @staticmethod
    def _native_strings(unicode_):
        return (_z(IDENTITY.native_os, unicode_) + _z(IDENTITY.native_lanman, unicode_)
                + _z(IDENTITY.domain, unicode_))

    # --- SMB2/3 -----------------------------------------------------------------------------
    def smb2(self, data):
        replies = []
        offset = 0
        while len(replies) < 16:
            message = data[offset:]
            if len(message) < 64:
                break
            next_command = struct.unpack_from("<I", message, 20)[0]
            if next_command and (next_command < 64 or next_command % 8):
                next_command = 0
            reply = self.smb2_one(message[:next_command] if next_command else message)
            if reply is CLOSE:
                return CLOSE
            if reply:
                replies.append(reply)
            if not next_command:
                break
            offset += next_command
        if not replies and offset == 0 and len(data) < 64:
            self.reason = "malformed"
            return CLOSE
        for i in range(len(replies) - 1):     # a compound request gets a compound reply
            pad = (-len(replies[i])) % 8
            replies[i] = replies[i][:20] + struct.pack("<I", len(replies[i]) + pad) + replies[i][24:] + b"\x00" * pad
        return b"".join(replies)

    def smb2_one(self, msg):
        req = {}
        (_, _, req["charge"], _, req["cmd"], req["credits"], req["flags"], _, req["mid"]) = \
            struct.unpack_from("<4sHHIHHIIQ", msg, 0)
        req["tree"] = struct.unpack_from("<I", msg, 36)[0]
        req["sid"] = struct.unpack_from("<Q", msg, 40)[0]
        cmd = req["cmd"]
        if cmd == SMB2_NEGOTIATE:
            return self.smb2_negotiate(req, msg)
        if self.smb2_dialect is None:
            self.reason = "protocol_error"
            return CLOSE
        if cmd == SMB2_SESSION_SETUP:
            return self.smb2_session_setup(req, msg)
        if cmd == SMB2_LOGOFF:
            self.sessions.discard(("smb2", req["sid"]))
            return self.smb2_reply(req, STATUS_SUCCESS, struct.pack("<HH", 4, 0))
        if cmd == SMB2_ECHO:
            return self.smb2_reply(req, STATUS_SUCCESS, struct.pack("<HH", 4, 0))
        if cmd == SMB2_CANCEL:
            return None
        known = ("smb2", req["sid"]) in self.sessions
        if cmd == SMB2_TREE_CONNECT and len(msg) >= 72:
            off, length = struct.unpack_from("<HH", msg, 68)
            path = msg[off:off + min(length, 1024)]
            self.log("tree_connect", protocol="SMB2", path=path[: len(path) & ~1].decode("utf-16-le", "replace"))
        return self.smb2_error(req, STATUS_ACCESS_DENIED if known else STATUS_USER_SESSION_DELETED)

    def smb2_header(self, req, status, sid=None, credits=None):
        if credits is None:
            credits = max(1, min(req["credits"], 32)) if req else 1
        return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, req["charge"] if req else 0, status,
                           req["cmd"] if req else SMB2_NEGOTIATE, credits, 0x00000001, 0,
                           req["mid"] if req else 0, 0xFEFF, req["tree"] if req else 0,
                           (req["sid"] if req else 0) if sid is None else sid, b"\x00" * 16)

    def smb2_reply(self, req, status, body, sid=None, credits=None):
        return self.smb2_header(req, status, sid, credits) + body

    def smb2_error(self, req, status, sid=None):
        return self.smb2_reply(req, status, struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00", sid)

    def smb2_negotiate(self, req, msg):
        if self.smb2_dialect is not None or len(msg) < 100:
            self.reason = "protocol_error"
            return CLOSE
        count, _secmode, _, client_caps = struct.unpack_from("<HHHI", msg, 66)
        client_guid = msg[76:92]
        ctx_offset, ctx_count = struct.unpack_from("<IH", msg, 92)
        count = min(count, 64)
        raw = msg[100:100 + 2 * count]
        dialects = [d for (d,) in struct.iter_unpack("<H", raw[: len(raw) & ~1])]
        offered = [d for d in dialects if d in SMB2_DIALECTS and d <= IDENTITY.max_dialect]
        chosen = max(offered) if offered else None
        ciphers, netname = [], ""
        if 0x0311 in dialects:
            ciphers, netname = self._negotiate_contexts(msg, ctx_offset, min(ctx_count, 16))
        fields = {"protocol": "SMB2", "transport": self.transport,
                  "dialects": ",".join("0x%04x" % d for d in dialects),
                  "dialect": "0x%04x" % chosen if chosen else "none",
                  "client_guid": str(uuid.UUID(bytes_le=client_guid))}
        if netname:
            fields["netname"] = netname
        self.log("negotiate", **fields)
        if chosen is None:
            return self.smb2_error(req, STATUS_NOT_SUPPORTED)
        self.smb2_dialect = chosen
        return self.smb2_negotiate_reply(req, chosen, client_caps, ciphers)

    @staticmethod
    def _negotiate_contexts(msg, offset, count):
        ciphers, netname = [], ""
        for _ in range(count):
            if offset + 8 > len(msg):
                break
            ctype, length = struct.unpack_from("<HH", msg, offset)
            data = msg[offset + 8:offset + 8 + length]
            if ctype == 2 and len(data) >= 2:
                n = min(struct.unpack_from("<H", data)[0], (len(data) - 2) // 2)
                ciphers = [c for (c,) in struct.iter_unpack("<H", data[2:2 + 2 * n])]
            elif ctype == 5:
                netname = data[: len(data) & ~1].decode("utf-16-le", "replace")[:256]
            offset += 8 + length
            offset += (-offset) % 8
        return ciphers, netname

    def smb2_negotiate_reply(self, req, dialect, client_caps=0, ciphers=()):
        if dialect == 0x0202:
            caps, max_size = 0x01, 65536
        elif dialect in (0x0210, 0x02FF):
            caps, max_size = 0x07, 8388608
        else:                                   # DFS, leasing, large MTU, multichannel, dir leasing
            caps, max_size = 0x2F, 8388608
            if dialect in (0x0300, 0x0302) and client_caps & 0x40:
                caps |= 0x40                    # encryption
        blob = ntlm.spnego_init()
        contexts = []
        if dialect == 0x0311:
            contexts.append(struct.pack("<HHI", 1, 38, 0) + struct.pack("<HHH", 1, 32, 1) + os.urandom(32))
            if ciphers:
                cipher = next((c for c in (0x0002, 0x0001) if c in ciphers), 0)
                contexts.append(struct.pack("<HHI", 2, 4, 0) + struct.pack("<HH", 1, cipher))
        ctx_offset = 0
        tail = blob
        if contexts:
            ctx_offset = 128 + len(blob) + (-(128 + len(blob))) % 8
            tail = blob + b"\x00" * (ctx_offset - 128 - len(blob))
            for i, ctx in enumerate(contexts):
                tail += ctx + (b"\x00" * ((-len(ctx)) % 8) if i < len(contexts) - 1 else b"")
        body = struct.pack("<HHHH16sIIIIQQHHI", 65, 0x0001, dialect, len(contexts), SERVER_GUID, caps,
                           max_size, max_size, max_size, ntlm.filetime(), 0, 128, len(blob), ctx_offset)
        return self.smb2_header(req, STATUS_SUCCESS, credits=1) + body + tail

    def smb2_session_setup(self, req, msg):
        if len(msg) < 88:
            return self.smb2_error(req, STATUS_INVALID_PARAMETER)
        off, length = struct.unpack_from("<HH", msg, 76)
        blob = msg[off:off + length] if off >= 64 else b""
        sid = req["sid"] or (int.from_bytes(os.urandom(5), "little") << 8 | 0x45)
        status, out = self.ntlm_step(("smb2", sid), blob, "SMB2")
        if status == STATUS_SUCCESS:
            self.sessions.add(("smb2", sid))
            body = struct.pack("<HHHH", 9, 0x0002, 72 if out else 0, len(out)) + (out or b"\x00")  # IS_NULL
            return self.smb2_reply(req, status, body, sid=sid)
        if status == STATUS_MORE_PROCESSING_REQUIRED:
            body = struct.pack("<HHHH", 9, 0, 72, len(out)) + out
            return self.smb2_reply(req, status, body, sid=sid)
        return self.smb2_error(req, status, sid=sid)


class NetBIOSSession(SMBSession):
    netbios = True


def main():
    threading.excepthook = lambda args: None
    if NETBIOS_PORT:
        netbios = DecoyServer(("0.0.0.0", NETBIOS_PORT), NetBIOSSession)
        threading.Thread(target=netbios.serve_forever, name="netbios", daemon=True).start()
    serve(SMBSession, PORT)


if __name__ == "__main__":
    main()
