"""NTLMSSP and SPNEGO helpers shared by DECNET's Windows decoys (smb, rdp).

Synced into every build context next to decnet_logging.py and decnet_tcp.py. Standard library
only. What it does:

* ``Identity``: the Windows persona a decoy presents (NetBIOS computer and domain names, DNS
  names, OS version) built from the environment (``DECNET_HOSTNAME``,
  ``DECNET_<SERVICE>_DOMAIN``, ``DECNET_<SERVICE>_OS``, falling back to the SMB settings).
* NTLM: parse NEGOTIATE (type 1) and AUTHENTICATE (type 3), build a CHALLENGE (type 2) with
  target info, and turn an AUTHENTICATE into hashcat lines (NetNTLMv2 ``-m 5600``,
  NetNTLMv1 ``-m 5500``).
* SPNEGO: the server's negTokenInit2 (SMB NEGOTIATE), negTokenResp, and the NTLM token inside
  whatever a client sent (raw or wrapped).

Every parser is bounded by the bytes it is given and never raises on garbage: it returns None.
"""

import os
import re
import struct
import time

SIGNATURE = b"NTLMSSP\x00"

# NegotiateFlags
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM = 0x00000002
REQUEST_TARGET = 0x00000004
NEGOTIATE_SIGN = 0x00000010
NEGOTIATE_SEAL = 0x00000020
NEGOTIATE_LM_KEY = 0x00000080
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ANONYMOUS = 0x00000800
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
TARGET_TYPE_SERVER = 0x00020000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_IDENTIFY = 0x00100000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000

# what a Windows server echoes back when the client asks for it
_ECHOED = (NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_SIGN | NEGOTIATE_SEAL
           | NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY | NEGOTIATE_IDENTIFY
           | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_KEY_EXCH | NEGOTIATE_56)
_DEFAULT_CLIENT_FLAGS = 0xE2088297   # a Windows 10 client's NEGOTIATE

# AV_PAIR ids (MS-NLMP 2.2.2.1)
AV_EOL, AV_NB_COMPUTER, AV_NB_DOMAIN, AV_DNS_COMPUTER, AV_DNS_DOMAIN, AV_DNS_TREE = 0, 1, 2, 3, 4, 5
AV_FLAGS, AV_TIMESTAMP = 6, 7

# DER-encoded object identifiers
OID_SPNEGO = b"\x06\x06\x2b\x06\x01\x05\x05\x02"                  # 1.3.6.1.5.5.2
OID_NTLMSSP = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"  # 1.3.6.1.4.1.311.2.2.10
NEG_HINT = b"not_defined_in_RFC4178@please_ignore"

ACCEPT_COMPLETED, ACCEPT_INCOMPLETE, REJECT = 0, 1, 2

MAX_TOKEN = 65536          # no NTLM message of ours, or a client's, is larger
MAX_RESPONSE = 4096        # bytes of an NT/LM response kept for the hash line
MAX_NAME = 256             # characters of a user/domain/workstation name kept

# Windows personas: NTLM version (major, minor, build), SMB1 NativeOS / NativeLanMan strings,
# server (True) or workstation (False) SMB1 negotiate profile, highest SMB2 dialect.
OS_PROFILES = {
    "2022": ((10, 0, 20348), "Windows Server 2022 Standard 20348",
             "Windows Server 2022 Standard 6.3", True, 0x0311),
    "2019": ((10, 0, 17763), "Windows Server 2019 Standard 17763",
             "Windows Server 2019 Standard 6.3", True, 0x0311),
    "2016": ((10, 0, 14393), "Windows Server 2016 Standard 14393",
             "Windows Server 2016 Standard 6.3", True, 0x0311),
    "2012r2": ((6, 3, 9600), "Windows Server 2012 R2 Standard 9600",
               "Windows Server 2012 R2 Standard 6.3", True, 0x0302),
    "2012": ((6, 2, 9200), "Windows Server 2012 Standard 9200",
             "Windows Server 2012 Standard 6.2", True, 0x0300),
    "2008r2": ((6, 1, 7601), "Windows Server 2008 R2 Standard 7601 Service Pack 1",
               "Windows Server 2008 R2 Standard 6.1", True, 0x0210),
    "win11": ((10, 0, 22631), "Windows 11 Pro 22631", "Windows 11 Pro 6.3", False, 0x0311),
    "win10": ((10, 0, 19045), "Windows 10 Pro 19045", "Windows 10 Pro 6.3", False, 0x0311),
    "win7": ((6, 1, 7601), "Windows 7 Professional 7601 Service Pack 1",
             "Windows 7 Professional 6.1", False, 0x0210),
}
DEFAULT_OS = "2019"


def os_profile(name):
    """The OS_PROFILES key for a free-form persona string ("Windows Server 2016", "win10", ...)."""
    text = re.sub(r"[^a-z0-9]", "", (name or "").lower())
    if not text:
        return DEFAULT_OS
    text = text.replace("windowsserver", "").replace("server", "").replace("windows", "win")
    if text in OS_PROFILES:
        return text
    for key, tokens in (("2008r2", ("2008r2",)), ("2012r2", ("2012r2",)), ("2022", ("2022",)),
                        ("2019", ("2019",)), ("2016", ("2016",)), ("2012", ("2012",)),
                        ("win11", ("win11", "11")), ("win10", ("win10", "10")),
                        ("win7", ("win7", "7"))):
        if any(tok in text for tok in tokens):
            return key
    return DEFAULT_OS


def _setting(service, key, default=""):
    """DECNET_<SERVICE>_<KEY>, then DECNET_SMB_<KEY>, then the default."""
    for svc in (service, "smb"):
        value = os.environ.get("DECNET_%s_%s" % (svc.upper(), key.upper()))
        if value:
            return value.strip()
    return default


class Identity:
    """The names and version a Windows host discloses in NTLM, SMB and RDP."""

    def __init__(self, hostname="", domain="", dns_domain="", os_name=""):
        host = (hostname or "WIN-SERVER").strip().rstrip(".")
        first, _, rest = host.partition(".")
        self.computer = _netbios(first) or "WIN-SERVER"
        dns_domain = (dns_domain or rest).strip().strip(".").lower()
        if not domain and dns_domain:
            domain = dns_domain.split(".")[0]
        self.domain = _netbios(domain or "WORKGROUP") or "WORKGROUP"
        self.joined = bool(dns_domain) or self.domain != "WORKGROUP"
        if not dns_domain and self.joined:
            dns_domain = self.domain.lower() + ".local"
        if dns_domain:
            self.dns_domain = dns_domain
            self.dns_computer = "%s.%s" % (first.lower(), dns_domain)
            self.dns_tree = dns_domain
        else:                  # a workgroup member: Windows repeats its own name
            self.dns_domain = self.computer
            self.dns_computer = self.computer
            self.dns_tree = ""
        self.os_key = os_profile(os_name)
        (self.version, self.native_os, self.native_lanman, self.server,
         self.max_dialect) = OS_PROFILES[self.os_key]

    @classmethod
    def from_env(cls, service="smb"):
        return cls(hostname=os.environ.get("DECNET_HOSTNAME") or os.environ.get("DECNET_DECKY") or "",
                   domain=_setting(service, "domain"),
                   dns_domain=_setting(service, "dns_domain"),
                   os_name=_setting(service, "os"))

    def version_bytes(self):
        major, minor, build = self.version
        return struct.pack("<BBH3xB", major, minor, build, 15)   # NTLMSSP_REVISION_W2K3

    def target_info(self, now=None):
        pairs = [(AV_NB_DOMAIN, self.domain), (AV_NB_COMPUTER, self.computer),
                 (AV_DNS_DOMAIN, self.dns_domain), (AV_DNS_COMPUTER, self.dns_computer)]
        if self.dns_tree:
            pairs.append((AV_DNS_TREE, self.dns_tree))
        out = b"".join(_av(i, v.encode("utf-16-le")) for i, v in pairs)
        out += _av(AV_TIMESTAMP, struct.pack("<Q", filetime(now)))
        return out + _av(AV_EOL, b"")


def _netbios(name):
    name = re.sub(r"[^A-Za-z0-9!@#$%^&()\-'{}.~_]", "", name or "")
    return name.upper()[:15]


def _av(av_id, value):
    return struct.pack("<HH", av_id, len(value)) + value


def filetime(now=None):
    """100 ns ticks since 1601-01-01 (Windows FILETIME)."""
    return int(((time.time() if now is None else now) + 11644473600) * 10000000)


# --- NTLM messages ------------------------------------------------------------------------
def message_type(token):
    if not token or len(token) < 12 or token[:8] != SIGNATURE:
        return None
    return struct.unpack_from("<I", token, 8)[0]


def _field(token, offset):
    """A (len, maxlen, offset) security buffer of the message, bounded by the message."""
    if len(token) < offset + 8:
        return b""
    length, _, start = struct.unpack_from("<HHI", token, offset)
    if length == 0 or start >= len(token):
        return b""
    return token[start:start + length]


def _text(raw, unicode_):
    if unicode_:
        return raw[: len(raw) & ~1].decode("utf-16-le", "replace")[:MAX_NAME]
    return raw.decode("latin-1")[:MAX_NAME]


def parse_negotiate(token):
    """NEGOTIATE (type 1): {'flags', 'domain', 'workstation', 'version'} or None."""
    if message_type(token) != 1 or len(token) < 16:
        return None
    flags = struct.unpack_from("<I", token, 12)[0]
    info = {"flags": flags, "domain": "", "workstation": "", "version": ""}
    if len(token) >= 32:
        info["domain"] = _text(_field(token, 16), False)
        info["workstation"] = _text(_field(token, 24), False)
    if flags & NEGOTIATE_VERSION and len(token) >= 40:
        major, minor, build = struct.unpack_from("<BBH", token, 32)
        info["version"] = "%d.%d.%d" % (major, minor, build)
    return info


def challenge_message(identity, server_challenge, client_flags=None, now=None):
    """CHALLENGE (type 2) answering a client's NEGOTIATE flags, with full target info."""
    if client_flags is None:
        client_flags = _DEFAULT_CLIENT_FLAGS
    flags = (client_flags & _ECHOED) | NEGOTIATE_NTLM | NEGOTIATE_TARGET_INFO | TARGET_TYPE_DOMAIN
    if not client_flags & NEGOTIATE_UNICODE:
        flags |= NEGOTIATE_OEM
    flags |= REQUEST_TARGET
    unicode_ = bool(flags & NEGOTIATE_UNICODE)
    target_name = identity.domain.encode("utf-16-le" if unicode_ else "latin-1", "replace")
    target_info = identity.target_info(now)
    version = identity.version_bytes() if flags & NEGOTIATE_VERSION else b"\x00" * 8
    header_len = 56
    return (SIGNATURE + struct.pack("<I", 2)
            + struct.pack("<HHI", len(target_name), len(target_name), header_len)
            + struct.pack("<I", flags) + server_challenge + b"\x00" * 8
            + struct.pack("<HHI", len(target_info), len(target_info), header_len + len(target_name))
            + version + target_name + target_info)


def parse_authenticate(token):
    """AUTHENTICATE (type 3) -> dict (names as text, responses as bytes), or None."""
    if message_type(token) != 3 or len(token) < 52:
        return None
    flags = struct.unpack_from("<I", token, 60)[0] if len(token) >= 64 else NEGOTIATE_UNICODE
    unicode_ = bool(flags & NEGOTIATE_UNICODE)
    lm = _field(token, 12)[:MAX_RESPONSE]
    nt = _field(token, 20)[:MAX_RESPONSE]
    info = {
        "flags": flags,
        "lm": lm,
        "nt": nt,
        "domain": _text(_field(token, 28), unicode_),
        "username": _text(_field(token, 36), unicode_),
        "workstation": _text(_field(token, 44), unicode_),
        "version": "",
    }
    if flags & NEGOTIATE_VERSION and len(token) >= 72:
        major, minor, build = struct.unpack_from("<BBH", token, 64)
        info["version"] = "%d.%d.%d" % (major, minor, build)
    return info


def is_anonymous(auth):
    """A null session: no user name and no (or a one-zero-byte) response."""
    return (not auth["username"] and not auth["nt"]
            and auth["lm"] in (b"", b"\x00"))


def hash_line(username, domain, server_challenge, lm, nt):
    """(field name, hashcat line) for the responses to our challenge, or (None, None)."""
    if len(nt) > 24:          # NTLMv2: NTProofStr + blob (-m 5600)
        return "ntlmv2_hash", "%s::%s:%s:%s:%s" % (
            username, domain, server_challenge.hex(), nt[:16].hex(), nt[16:].hex())
    if len(nt) == 24:         # NTLMv1 / NTLM2 session response (-m 5500)
        return "ntlmv1_hash", "%s::%s:%s:%s:%s" % (
            username, domain, lm.hex(), nt.hex(), server_challenge.hex())
    if len(lm) == 24 and any(lm):   # LMv2 only
        return "lmv2_response", "%s::%s:%s:%s" % (username, domain, server_challenge.hex(), lm.hex())
    return None, None


def auth_fields(auth, server_challenge):
    """The fields of an ``auth`` event for an AUTHENTICATE message."""
    fields = {"method": "ntlm", "username": auth["username"], "domain": auth["domain"],
              "workstation": auth["workstation"]}
    name, line = hash_line(auth["username"], auth["domain"], server_challenge, auth["lm"], auth["nt"])
    if name:
        fields[name] = line
    if auth.get("version"):
        fields["client_version"] = auth["version"]
    if is_anonymous(auth):
        fields["anonymous"] = "true"
    return fields


# --- DER / SPNEGO ---------------------------------------------------------------------------
def der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def der_header(data, pos=0):
    """(tag, content start, content end) of the element at pos, or None."""
    if pos + 2 > len(data):
        return None
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            return None
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        return None
    return tag, pos, pos + length


def der_children(data, start=0, end=None):
    """[(tag, content)] of the consecutive elements in data[start:end]."""
    end = len(data) if end is None else end
    out = []
    while start < end and len(out) < 64:
        head = der_header(data[:end], start)
        if head is None:
            break
        tag, cstart, cend = head
        out.append((tag, data[cstart:cend]))
        start = cend
    return out


def spnego_init():
    """negTokenInit2 a Windows server puts in its NEGOTIATE response (NTLMSSP offered)."""
    mech_types = der(0xA0, der(0x30, OID_NTLMSSP))
    hints = der(0xA3, der(0x30, der(0xA0, der(0x1B, NEG_HINT))))
    return der(0x60, OID_SPNEGO + der(0xA0, der(0x30, mech_types + hints)))


def spnego_response(state, token=b"", mech=False, mic=b""):
    """negTokenResp: negState, optional supportedMech (NTLMSSP), responseToken and mechListMIC."""
    body = der(0xA0, der(0x0A, bytes([state])))
    if mech:
        body += der(0xA1, OID_NTLMSSP)
    if token:
        body += der(0xA2, der(0x04, token))
    if mic:
        body += der(0xA3, der(0x04, mic))
    return der(0xA1, der(0x30, body))


def extract_ntlm(blob):
    """(NTLM message, was_spnego) from a raw or SPNEGO-wrapped token; (None, was_spnego)."""
    if not blob:
        return None, False
    blob = bytes(blob[:MAX_TOKEN])
    wrapped = blob[:1] in (b"\x60", b"\xa0", b"\xa1")
    idx = blob.find(SIGNATURE)
    if idx < 0:
        return None, wrapped
    return blob[idx:], wrapped


def wrap(token, spnego, first):
    """Our NTLM token as the client sent theirs: raw, or in a negTokenResp."""
    if not spnego:
        return token
    return spnego_response(ACCEPT_INCOMPLETE, token, mech=first)
