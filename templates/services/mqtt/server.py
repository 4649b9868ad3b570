#!/usr/bin/env python3
"""DECNET mqtt decoy: a Mosquitto 2.0 broker look-alike (MQTT 3.1, 3.1.1 and 5.0).

Standard library only. Listens on 0.0.0.0:1883 (``DECNET_MQTT_PORT`` overrides). CONNECT is
parsed fully (protocol level, client id, will, username, password, v5 properties). Anonymous
clients are let in (unless ``DECNET_MQTT_ANONYMOUS=0``) and may publish, subscribe and receive:
retained messages (a few plausible ones are seeded), the broker's ``$SYS/#`` tree, and what
other connected clients publish. Any username/password is refused with CONNACK 5 (v3) or
0x87 (v5) "not authorized".

Events (RFC 5424 on stdout, via decnet_logging/decnet_tcp): connect, auth (credentials,
severity notice), command (CONNECT details, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ,
DISCONNECT, protocol errors), disconnect.

Settings: DECNET_MQTT_ANONYMOUS (default ``1``), DECNET_MQTT_VERSION (default ``2.0.11``).
"""

import hashlib
import random
import struct
import threading
import time
import uuid

from decnet_tcp import Session, env, serve

PORT = int(env("DECNET_MQTT_PORT", "1883"))
ANONYMOUS = env("DECNET_MQTT_ANONYMOUS", "1").strip().lower() not in ("0", "false", "no", "off")
VERSION = env("DECNET_MQTT_VERSION", "2.0.11")
HOSTNAME = env("DECNET_HOSTNAME", env("DECNET_DECKY", "broker"))

MAX_PACKET = 256 * 1024     # bigger packets are read through but not kept
MAX_RETAINED = 256
MAX_SUBS = 64               # subscriptions per session
MAX_LOGGED_PAYLOAD = 512

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)
NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
         12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH", 0: "RESERVED"}

_host_rng = random.Random(hashlib.sha1((HOSTNAME + "|mqtt").encode()).digest())
STARTED = time.time() - _host_rng.randint(2, 60) * 86400 - _host_rng.randint(0, 86399)


class ProtocolError(Exception):
    pass


class Reader:
    """Bounds-checked reads inside one packet body."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def left(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("truncated packet")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def binary(self):
        return self.take(self.u16())

    def string(self):
        return self.binary().decode("utf-8", "backslashreplace")

    def varint(self):
        value, shift = 0, 0
        for _ in range(4):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise ProtocolError("malformed variable byte integer")

    def properties(self):
        """v5 property block -> {id: value} (user properties collected as a list)."""
        size = self.varint()
        end = self.pos + size
        if end > len(self.data):
            raise ProtocolError("truncated properties")
        props = {}
        while self.pos < end:
            pid = self.varint()
            if pid in (0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A):
                val = self.byte()
            elif pid in (0x13, 0x21, 0x22, 0x23):
                val = self.u16()
            elif pid in (0x02, 0x11, 0x18, 0x27):
                val = struct.unpack("!I", self.take(4))[0]
            elif pid == 0x0B:
                val = self.varint()
            elif pid in (0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F):
                val = self.string()
            elif pid in (0x09, 0x16):
                val = self.binary()
            elif pid == 0x26:
                val = (self.string(), self.string())
                props.setdefault("user", []).append(val)
                continue
            else:
                raise ProtocolError("unknown property 0x%02x" % pid)
            props[pid] = val
        self.pos = end
        return props


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def mqtt_str(text):
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


def topic_matches(filt, topic):
    """MQTT wildcard matching; '#'/'+' at the first level never match '$' topics."""
    if topic.startswith("$") and filt[:1] in ("#", "+"):
        return False
    f, t = filt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t):
            return False
        if part != "+" and part != t[i]:
            return False
    return len(f) == len(t)


def valid_filter(filt):
    if not filt or "\0" in filt:
        return False
    parts = filt.split("/")
    for i, part in enumerate(parts):
        if "#" in part and (part != "#" or i != len(parts) - 1):
            return False
        if "+" in part and part != "+":
            return False
    return True


def show(payload):
    text = payload[:MAX_LOGGED_PAYLOAD].decode("utf-8", "backslashreplace")
    return text + ("..." if len(payload) > MAX_LOGGED_PAYLOAD else "")


# --- broker state ---------------------------------------------------------------------------
class Broker:
    lock = threading.Lock()
    sessions = set()
    retained = {}
    received = _host_rng.randint(2000, 60000)
    sent = received * 3 + _host_rng.randint(0, 999)
    bytes_received = received * 61
    bytes_sent = sent * 58
    total_clients = _host_rng.randint(3, 14)
    disconnected = 0

    @classmethod
    def retain(cls, topic, payload):
        with cls.lock:
            if not payload:
                cls.retained.pop(topic, None)
            elif topic in cls.retained or len(cls.retained) < MAX_RETAINED:
                cls.retained[topic] = payload[:MAX_PACKET]


def _seed():
    r = _host_rng
    site = r.choice(["plant1", "bldg-a", "warehouse", "site02", "hq"])
    for room in r.sample(["office", "server-room", "lab", "lobby", "storage", "workshop"], 3):
        base = "%s/%s" % (site, room)
        Broker.retained[base + "/temperature"] = ("%.1f" % r.uniform(18.5, 26.0)).encode()
        Broker.retained[base + "/humidity"] = ("%d" % r.randint(30, 60)).encode()
    dev = "%06x" % r.getrandbits(24)
    Broker.retained["tele/sonoff_%s/LWT" % dev] = b"Online"
    Broker.retained["tele/sonoff_%s/STATE" % dev] = (
        '{"Time":"%s","Uptime":"%dT%02d:%02d:%02d","POWER":"ON","Wifi":{"SSId":"%s-iot","RSSI":%d}}'
        % (time.strftime("%Y-%m-%dT%H:%M:%S"), r.randint(1, 40), r.randint(0, 23), r.randint(0, 59),
           r.randint(0, 59), site, r.randint(40, 90))).encode()
    Broker.retained["homeassistant/status"] = b"online"


_seed()


def sys_topics():
    """What mosquitto publishes (retained) under $SYS/broker, at this moment."""
    up = int(time.time() - STARTED)
    with Broker.lock:
        connected = len(Broker.sessions)
        total = Broker.total_clients + connected
        retained = len(Broker.retained)
        rec, sent = Broker.received, Broker.sent
        brec, bsent = Broker.bytes_received, Broker.bytes_sent
        subs = sum(len(s.subs) for s in Broker.sessions)
    r = random.Random(up // 60)
    load = lambda base: "%.2f" % (base * r.uniform(0.8, 1.2))  # noqa: E731
    topics = [
        ("version", "mosquitto version " + VERSION),
        ("uptime", "%d seconds" % up),
        ("clients/total", total), ("clients/inactive", total - connected),
        ("clients/disconnected", total - connected), ("clients/active", connected),
        ("clients/connected", connected), ("clients/expired", 0),
        ("clients/maximum", max(total, connected + 2)),
        ("messages/stored", retained + 48), ("messages/received", rec), ("messages/sent", sent),
        ("store/messages/count", retained + 48), ("store/messages/bytes", retained * 21 + 236),
        ("subscriptions/count", subs + 6), ("shared_subscriptions/count", 0),
        ("retained messages/count", retained + 48),
        ("publish/messages/dropped", 0), ("publish/messages/received", rec - up // 30),
        ("publish/messages/sent", sent - up // 30), ("publish/bytes/received", brec // 2),
        ("publish/bytes/sent", bsent // 2), ("bytes/received", brec), ("bytes/sent", bsent),
    ]
    for what, base in (("messages/received", 2.9), ("messages/sent", 8.7), ("publish/dropped", 0),
                       ("publish/received", 2.6), ("publish/sent", 7.9), ("bytes/received", 160.0),
                       ("bytes/sent", 480.0), ("sockets", 0.12), ("connections", 0.12)):
        for window in ("1min", "5min", "15min"):
            topics.append(("load/%s/%s" % (what, window), load(base) if base else "0.00"))
    return [("$SYS/broker/" + k, str(v).encode()) for k, v in topics]


# --- the session ----------------------------------------------------------------------------
class MQTTSession(Session):
    idle_timeout = 60  # a socket that never sends CONNECT is dropped

    def setup(self):
        super().setup()
        self.wlock = threading.Lock()
        self.subs = {}
        self.level = 4
        self.client_id = ""
        self.published = 0
        self.inflight_qos2 = set()

    def finish(self):
        with Broker.lock:
            if self in Broker.sessions:
                Broker.sessions.discard(self)
                Broker.disconnected += 1
        super().finish()

    def out(self, data):
        with self.wlock:
            self.send(data)
        with Broker.lock:
            Broker.bytes_sent += len(data)

    # --- framing ---------------------------------------------------------------------------
    def read_packet(self, expect_connect=False):
        """(type, flags, body) or None at EOF. Oversized bodies are consumed, not kept."""
        first = self.recv_exact(1)
        if first is None:
            return None
        if expect_connect and first[0] != 0x10:
            # like mosquitto: anything but CONNECT as the first byte ends the connection
            self.log("command", command="protocol_error", error="first packet is not CONNECT",
                     data=(first + self.buffer[:63]).hex())
            self.reason = "protocol_error"
            return None
        length, shift = 0, 0
        for i in range(4):
            b = self.recv_exact(1)
            if b is None:
                return None
            length |= (b[0] & 0x7F) << shift
            shift += 7
            if not b[0] & 0x80:
                break
        else:
            raise ProtocolError("malformed remaining length")
        ptype, flags = first[0] >> 4, first[0] & 0x0F
        if length > MAX_PACKET:
            self.log("command", command=NAMES[ptype], error="oversized packet", length=length)
            left = length - len(self.buffer)
            self.buffer = self.buffer[length:]
            while left > 0:
                chunk = self.request.recv(min(65536, left))
                if not chunk:
                    self.reason = "client_closed"
                    return None
                left -= len(chunk)
            raise ProtocolError("packet too large")
        body = self.recv_exact(length) if length else b""
        if body is None:
            self.reason = "client_closed"
            return None
        with Broker.lock:
            Broker.bytes_received += length + 2
        return ptype, flags, body

    def run(self):
        try:
            pkt = self.read_packet(expect_connect=True)
            if pkt is None:
                return
            ptype, flags, body = pkt
            if not self.connect(Reader(body)):
                return
            with Broker.lock:
                Broker.sessions.add(self)
            while True:
                pkt = self.read_packet()
                if pkt is None:
                    return
                if not self.handle_packet(*pkt):
                    return
        except ProtocolError as exc:
            self.log("command", command="protocol_error", error=str(exc))
            self.reason = "protocol_error"

    # --- CONNECT ---------------------------------------------------------------------------
    def connect(self, r):
        name = r.string()
        level = r.byte()
        if name not in ("MQTT", "MQIsdp"):
            self.log("command", command="CONNECT", error="invalid protocol name", protocol=name)
            self.reason = "protocol_error"
            return False
        if (name == "MQTT" and level not in (4, 5)) or (name == "MQIsdp" and level != 3):
            self.log("command", command="CONNECT", error="unsupported protocol version",
                     protocol=name, level=level)
            self.out(packet(CONNACK, 0, b"\x00\x01"))  # unacceptable protocol version
            self.reason = "bad_protocol_version"
            return False
        self.level = level
        cflags = r.byte()
        keepalive = r.u16()
        if cflags & 0x01:
            raise ProtocolError("reserved connect flag set")
        props = r.properties() if level == 5 else {}
        client_id = r.string()
        will_topic = will_payload = None
        if cflags & 0x04:
            if level == 5:
                r.properties()
            will_topic = r.string()
            will_payload = r.binary()
        username = r.string() if cflags & 0x80 else None
        password = r.binary() if cflags & 0x40 else None
        clean = bool(cflags & 0x02)
        self.client_id = client_id

        fields = {"client_id": client_id, "protocol": "%s/%d" % (name, level),
                  "keepalive": keepalive, "clean_session": int(clean)}
        if will_topic is not None:
            fields["will_topic"] = will_topic
            fields["will_payload"] = show(will_payload)
        if 0x15 in props:
            fields["auth_method"] = props[0x15]
        if "user" in props:
            fields["user_properties"] = ";".join("%s=%s" % kv for kv in props["user"][:16])

        if username is not None or password is not None:
            pw = password.decode("utf-8", "backslashreplace") if password is not None else ""
            self.log("auth", severity="notice", username=username or "", password=pw, **fields)
            self.refuse()
            return False
        self.log("command", command="CONNECT", anonymous_allowed=int(ANONYMOUS), **fields)
        if not ANONYMOUS:
            self.refuse()
            return False
        if not client_id and not clean and level < 5:
            self.out(packet(CONNACK, 0, b"\x00\x02"))  # identifier rejected
            self.reason = "identifier_rejected"
            return False

        if keepalive:
            self.request.settimeout(keepalive * 1.5)
        else:
            self.request.settimeout(600)
        if level == 5:
            cprops = b"\x22" + struct.pack("!H", 10)          # topic alias maximum
            if not client_id:
                self.client_id = "auto-" + str(uuid.uuid4()).upper()
                cprops += b"\x12" + mqtt_str(self.client_id)  # assigned client identifier
            self.out(packet(CONNACK, 0, b"\x00\x00" + varint(len(cprops)) + cprops))
        else:
            self.out(packet(CONNACK, 0, b"\x00\x00"))
        with Broker.lock:
            Broker.total_clients += 1
        return True

    def refuse(self):
        if self.level == 5:
            self.out(packet(CONNACK, 0, b"\x00\x87\x00"))   # not authorized
        else:
            self.out(packet(CONNACK, 0, b"\x00\x05"))       # not authorized
        self.reason = "not_authorized"

    # --- after CONNACK ---------------------------------------------------------------------
    def handle_packet(self, ptype, flags, body):
        r = Reader(body)
        if ptype == PUBLISH:
            return self.on_publish(flags, r)
        if ptype == SUBSCRIBE:
            return self.on_subscribe(r)
        if ptype == UNSUBSCRIBE:
            return self.on_unsubscribe(r)
        if ptype == PINGREQ:
            self.log("command", command="PINGREQ")
            self.out(b"\xd0\x00")
            return True
        if ptype == DISCONNECT:
            reason = body[0] if body else 0
            self.log("command", command="DISCONNECT", reason_code=reason)
            self.reason = "disconnect"
            return False
        if ptype == PUBREL:
            pid = r.u16()
            self.inflight_qos2.discard(pid)
            self.out(packet(PUBCOMP, 0, struct.pack("!H", pid)))
            return True
        if ptype in (PUBACK, PUBREC, PUBCOMP):
            if ptype == PUBREC:
                self.out(packet(PUBREL, 2, struct.pack("!H", r.u16())))
            return True
        self.log("command", command=NAMES[ptype], error="unexpected packet", data=body[:64].hex())
        self.reason = "protocol_error"
        return False

    def on_publish(self, flags, r):
        qos, retain, dup = (flags >> 1) & 3, flags & 1, (flags >> 3) & 1
        if qos == 3:
            raise ProtocolError("invalid QoS 3")
        topic = r.string()
        pid = r.u16() if qos else None
        props = r.properties() if self.level == 5 else {}
        if 0x23 in props and not topic:
            topic = "<alias %d>" % props[0x23]
        payload = r.data[r.pos:]
        self.log("command", command="PUBLISH", topic=topic, payload=show(payload), qos=qos,
                 retain=retain, dup=dup, size=len(payload))
        with Broker.lock:
            Broker.received += 1
        if "#" in topic or "+" in topic or not topic:
            raise ProtocolError("invalid topic name")
        if retain:
            Broker.retain(topic, payload)
        self.fan_out(topic, payload)
        if qos == 1:
            self.out(packet(PUBACK, 0, struct.pack("!H", pid)))
        elif qos == 2:
            self.inflight_qos2.add(pid)
            self.out(packet(PUBREC, 0, struct.pack("!H", pid)))
        return True

    def fan_out(self, topic, payload):
        with Broker.lock:
            targets = [s for s in Broker.sessions
                       if s is not self and any(topic_matches(f, topic) for f in s.subs)]
        for s in targets[:32]:
            try:
                s.deliver(topic, payload, False)
            except OSError:
                pass

    def deliver(self, topic, payload, retained):
        body = mqtt_str(topic) + (b"\x00" if self.level == 5 else b"") + payload
        self.out(packet(PUBLISH, 1 if retained else 0, body))
        with Broker.lock:
            Broker.sent += 1

    def on_subscribe(self, r):
        pid = r.u16()
        if self.level == 5:
            r.properties()
        filters = []
        while r.left():
            filters.append((r.string(), r.byte()))
        if not filters:
            raise ProtocolError("SUBSCRIBE without topic filters")
        self.log("command", command="SUBSCRIBE", topics=", ".join(f for f, _ in filters[:64]),
                 qos=",".join(str(o & 3) for _, o in filters[:64]))
        codes = bytearray()
        granted = []
        for filt, opts in filters:
            if not valid_filter(filt) or (opts & 3) == 3:
                codes.append(0x80 if self.level < 5 else 0x8F)
                continue
            with Broker.lock:
                if filt not in self.subs and len(self.subs) >= MAX_SUBS:
                    codes.append(0x80 if self.level < 5 else 0x97)
                    continue
                self.subs[filt] = opts & 3
            codes.append(opts & 3)
            granted.append(filt)
        head = struct.pack("!H", pid) + (b"\x00" if self.level == 5 else b"")
        self.out(packet(SUBACK, 0, head + bytes(codes)))
        # retained messages for the new subscriptions, $SYS first as mosquitto does
        with Broker.lock:
            retained = list(Broker.retained.items())
        candidates = sys_topics() + retained
        sent = set()
        for topic, payload in candidates:
            if topic not in sent and any(topic_matches(f, topic) for f in granted):
                sent.add(topic)
                self.deliver(topic, payload, True)
        return True

    def on_unsubscribe(self, r):
        pid = r.u16()
        if self.level == 5:
            r.properties()
        topics = []
        while r.left():
            topics.append(r.string())
        self.log("command", command="UNSUBSCRIBE", topics=", ".join(topics[:64]))
        codes = b""
        for t in topics:
            with Broker.lock:
                existed = self.subs.pop(t, None) is not None
            codes += b"\x00" if existed else b"\x11"
        if self.level == 5:
            self.out(packet(UNSUBACK, 0, struct.pack("!H", pid) + b"\x00" + codes))
        else:
            self.out(packet(UNSUBACK, 0, struct.pack("!H", pid)))
        return True


if __name__ == "__main__":
    serve(MQTTSession, PORT)
