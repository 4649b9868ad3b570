"""DECNET event logging: one RFC 5424 syslog line per event on stdout.

Standard library only; every honeypot service imports this module (the engine copies it
into each service's build context, next to ``server.py``).

Line format::

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [decnet@32473 src_ip="..." ...] MSG

* facility local0 (16): PRI = 128 + severity (emerg 0 ... debug 7)
* TIMESTAMP: RFC 3339, UTC, microseconds, ``Z``
* HOSTNAME: ``$DECNET_DECKY`` (fallback: the container's hostname)
* APP-NAME: ``$DECNET_SERVICE``; PROCID: the pid
* ``-`` (NILVALUE) for any empty header field or an empty structured-data element;
  MSG is left out when empty.

Every event stays on one line: CR/LF in values become the two characters ``\\n``, other
control characters become ``\\xHH`` / ``\\uHHHH``.

Forwarding: when ``$DECNET_LOG_TARGET`` is ``udp://HOST:PORT`` or ``tcp://HOST:PORT`` (HOST an
IPv4 address or a name) every line is also sent there, besides stdout:

* UDP: one datagram per line, no newline, fire and forget.
* TCP: RFC 6587 octet counting (``LEN SP MSG``, LEN = UTF-8 byte length), reconnecting with
  exponential backoff (0.5 s doubling to 30 s), connect and send timeouts. Delivery is
  at-least-once: a batch whose send failed is sent again after the reconnect.

``log_event`` only appends to a bounded in-memory queue (``$DECNET_LOG_QUEUE`` lines, default
1000) drained by one daemon sender thread, so a collector that is down, slow or black-holed
never blocks or breaks it. When the queue is full the oldest line is dropped and counted;
right after the next (re)connect (and, while the connection stays up, at most every 10 s)
the sender first emits one ``forwarding`` warning line with ``dropped="N"``, to the
collector and to stdout. At exit the queue gets at most 1 s to drain. A bad target gives
one ``forwarding`` warning line on stdout and no forwarding. ``forwarder_stats()`` reports
``sent``, ``dropped``, ``queued`` (including the batch in flight) and ``connected``.
"""

import atexit
import collections
import datetime as _dt
import os
import re
import socket
import sys
import threading
import time

__all__ = ["format_line", "log_event", "forwarder_stats", "SEVERITIES", "SD_ID", "FACILITY"]

FACILITY = 16  # local0
SD_ID = "decnet@32473"
NILVALUE = "-"

SEVERITIES = {
    "emerg": 0, "emergency": 0,
    "alert": 1,
    "crit": 2, "critical": 2,
    "err": 3, "error": 3,
    "warning": 4, "warn": 4,
    "notice": 5,
    "info": 6, "informational": 6,
    "debug": 7,
}

# RFC 5424 header field length limits
_MAX_HOSTNAME = 255
_MAX_APP_NAME = 48
_MAX_PROCID = 128
_MAX_MSGID = 32
_MAX_PARAM_NAME = 32

_write_lock = threading.Lock()


def _severity_number(severity):
    if isinstance(severity, bool):
        return 6
    if isinstance(severity, int):
        return severity if 0 <= severity <= 7 else 6
    return SEVERITIES.get(str(severity).strip().lower(), 6)


def _to_text(value):
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif not isinstance(value, str):
        value = str(value)
    # lone surrogates (e.g. from surrogateescape) cannot be written as UTF-8
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _one_line(text):
    """Make text safe for a single line: CR/LF -> literal \\n, other controls escaped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append(ch)
        elif code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
            out.append("\\x%02x" % code)
        elif code in (0x2028, 0x2029, 0x85):
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    return "".join(out)


def _header_field(value, max_len):
    """Header fields are PRINTUSASCII (33..126) without spaces, or NILVALUE."""
    text = _to_text(value)
    text = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in text)[:max_len]
    return text or NILVALUE


def _param_name(name):
    text = _to_text(name)
    text = "".join(
        "_" if (not 33 <= ord(ch) <= 126) or ch in '= ]"' else ch for ch in text
    )[:_MAX_PARAM_NAME]
    return text or "_"


def _param_value(value):
    text = _to_text(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return _one_line(text)


def _timestamp(now):
    if now is None:
        now = _dt.datetime.now(_dt.timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=_dt.timezone.utc)
    else:
        now = now.astimezone(_dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % now.microsecond


def _default_hostname():
    name = os.environ.get("DECNET_DECKY", "")
    if not name:
        try:
            name = socket.gethostname()
        except OSError:
            name = ""
    return name


def format_line(msgid, fields, msg="", severity="info", hostname=None, app=None,
                now=None, procid=None):
    """Return one RFC 5424 line (no trailing newline). Pure apart from env defaults."""
    pri = FACILITY * 8 + _severity_number(severity)
    if hostname is None:
        hostname = _default_hostname()
    if app is None:
        app = os.environ.get("DECNET_SERVICE", "")
    if procid is None:
        procid = os.getpid()

    header = "<%d>1 %s %s %s %s %s" % (
        pri,
        _timestamp(now),
        _header_field(hostname, _MAX_HOSTNAME),
        _header_field(app, _MAX_APP_NAME),
        _header_field(procid, _MAX_PROCID),
        _header_field(msgid, _MAX_MSGID),
    )

    params = []
    for key, value in (fields or {}).items():
        params.append('%s="%s"' % (_param_name(key), _param_value(value)))
    sd = "[%s %s]" % (SD_ID, " ".join(params)) if params else NILVALUE

    line = "%s %s" % (header, sd)
    text = _one_line(_to_text(msg))
    if text:
        line = "%s %s" % (line, text)
    return line


def _write_stdout(line):
    try:
        with _write_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except Exception:  # a logging failure must never take a service down
        pass


def log_event(msgid, src_ip, src_port, msg="", severity="info", **fields):
    """Write one event line to stdout (flushed) and hand it to the forwarder. Never raises."""
    try:
        data = {"src_ip": src_ip, "src_port": src_port}
        data.update(fields)
        line = format_line(msgid, data, msg=msg, severity=severity)
    except Exception:
        return
    try:
        forwarder = _get_forwarder()  # the first call may warn about the configuration
    except Exception:
        forwarder = None
    _write_stdout(line)
    if forwarder is not None:
        try:
            forwarder.put(line)
        except Exception:
            pass


# --------------------------------------------------------------------------- forwarding

TARGET_ENV = "DECNET_LOG_TARGET"
QUEUE_ENV = "DECNET_LOG_QUEUE"
DEFAULT_QUEUE = 1000
BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0
CONNECT_TIMEOUT = 3.0
SEND_TIMEOUT = 5.0
EXIT_FLUSH_SECONDS = 1.0
NOTICE_INTERVAL = 10.0
FORWARD_MSGID = "forwarding"
_BATCH_LINES = 256
_BATCH_BYTES = 64 * 1024
_MAX_DATAGRAM = 65000  # stay below the 65507-byte UDP/IPv4 payload limit

_TARGET_RE = re.compile(r"^(udp|tcp)://([A-Za-z0-9_.-]{1,253}):([0-9]{1,5})$", re.IGNORECASE)
_LABEL_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def parse_target(value):
    """``(proto, host, port)`` for ``udp|tcp://HOST:PORT``; ValueError saying what is wrong."""
    m = _TARGET_RE.match(value.strip())
    if not m:
        raise ValueError("expected udp://HOST:PORT or tcp://HOST:PORT")
    proto, host, port = m.group(1).lower(), m.group(2).rstrip("."), int(m.group(3))
    if not 1 <= port <= 65535:
        raise ValueError("port out of range")
    labels = host.split(".")
    if not host or not all(_LABEL_RE.match(label) for label in labels):
        raise ValueError("bad host name")
    if all(label.isdigit() for label in labels):  # looks numeric: must be a dotted quad
        if len(labels) != 4 or any(int(label) > 255 for label in labels):
            raise ValueError("bad IPv4 address")
    elif labels[-1].isdigit():
        raise ValueError("bad host name")
    return proto, host, port


def _queue_size(raw):
    try:
        size = int(str(raw).strip())
    except ValueError:
        return None
    return size if size >= 1 else None


def _forward_notice(target, **fields):
    data = {"target": target}
    data.update(fields)
    return data


class _Forwarder:
    """Bounded queue + one daemon thread that ships lines to a UDP or TCP collector."""

    def __init__(self, proto, host, port, maxlen):
        self.proto, self.host, self.port, self.maxlen = proto, host, port, maxlen
        self.target = "%s://%s:%d" % (proto, host, port)
        self._queue = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._kick = threading.Event()  # cuts one backoff wait short (exit flush)
        self._inflight = 0
        self._unreported = 0  # drops not yet announced to the collector
        self._last_notice = time.monotonic()
        self.sent = 0
        self.dropped = 0
        self.connected = False
        self._thread = threading.Thread(target=self._run, name="decnet-log-forwarder",
                                        daemon=True)
        self._thread.start()

    # ---- producer side (log_event): O(1), lock held only for deque operations
    def put(self, line):
        data = line.encode("utf-8", "backslashreplace")
        with self._cond:
            if len(self._queue) >= self.maxlen:
                self._queue.popleft()
                self.dropped += 1
                self._unreported += 1
            self._queue.append(data)
            self._cond.notify()

    def stats(self):
        with self._cond:
            return {"sent": self.sent, "dropped": self.dropped,
                    "queued": len(self._queue) + self._inflight,
                    "connected": self.connected, "target": self.target}

    def flush(self, timeout):
        """Wait up to ``timeout`` s for the queue to drain; True when it did."""
        deadline = time.monotonic() + timeout
        self._kick.set()
        with self._cond:
            while self._queue or self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # ---- sender thread
    def _take_batch(self):
        with self._cond:
            while not self._queue:
                self._cond.wait(1.0)
            batch, size = [], 0
            while self._queue and len(batch) < _BATCH_LINES and size < _BATCH_BYTES:
                data = self._queue.popleft()
                batch.append(data)
                size += len(data)
            self._inflight = len(batch)
            return batch

    def _done(self, batch, ok):
        with self._cond:
            self._inflight = 0
            if ok:
                self.sent += len(batch)
            else:  # back to the head of the queue, still bounded: drop the oldest
                self._queue.extendleft(reversed(batch))
                while len(self._queue) > self.maxlen:
                    self._queue.popleft()
                    self.dropped += 1
                    self._unreported += 1
            self._cond.notify_all()

    def _notice(self, fresh):
        """The ``forwarding`` warning about drops since the last one, or None.

        Due right after a (re)connect; while the connection stays up (a slow collector)
        at most one every NOTICE_INTERVAL seconds.
        """
        with self._cond:
            count = self._unreported
        now = time.monotonic()
        if not count or (not fresh and now - self._last_notice < NOTICE_INTERVAL):
            return None, 0
        self._last_notice = now
        line = format_line(
            FORWARD_MSGID, _forward_notice(self.target, dropped=count),
            msg="%d lines were dropped while the collector was unreachable or slow" % count,
            severity="warning")
        return line, count

    def _reported(self, count):
        with self._cond:
            self._unreported -= count

    def _backoff(self, delay):
        self._kick.wait(delay)
        self._kick.clear()
        return min(delay * 2, BACKOFF_MAX)

    def _run(self):
        try:
            if self.proto == "udp":
                self._run_udp()
            else:
                self._run_tcp()
        except BaseException:  # never let the thread print a traceback into the service
            with self._cond:
                self.connected = False

    def _run_udp(self):
        delay = BACKOFF_MIN
        while True:
            try:
                addr = socket.getaddrinfo(self.host, self.port, socket.AF_INET,
                                          socket.SOCK_DGRAM)[0][4]
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                break
            except OSError:
                delay = self._backoff(delay)
        with self._cond:
            self.connected = True
        fresh = True
        while True:
            notice, count = self._notice(fresh)
            fresh = False
            if notice is not None:
                try:
                    sock.sendto(_datagram(notice.encode("utf-8")), addr)
                    self._reported(count)
                    _write_stdout(notice)
                except OSError:
                    pass
            batch = self._take_batch()
            failed = 0
            for data in batch:
                try:
                    sock.sendto(_datagram(data), addr)
                except OSError:  # fire and forget: count it and move on
                    failed += 1
            with self._cond:
                self._inflight = 0
                self.sent += len(batch) - failed
                self.dropped += failed
                self._unreported += failed
                self._cond.notify_all()

    def _connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            pass
        sock.settimeout(SEND_TIMEOUT)
        return sock

    @staticmethod
    def _peer_closed(sock):
        """True when the collector closed the connection (a cheap non-blocking peek)."""
        sock.settimeout(0.0)  # with a timeout, Python would first poll for readability
        try:
            data = sock.recv(4096, socket.MSG_PEEK)
            if data:  # the collector has nothing to say to us: discard it
                sock.recv(len(data))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        finally:
            sock.settimeout(SEND_TIMEOUT)
        return not data

    def _run_tcp(self):
        delay = BACKOFF_MIN
        sock = None
        fresh = False
        while True:
            if sock is None:
                try:
                    sock = self._connect()
                except OSError:
                    delay = self._backoff(delay)
                    continue
                with self._cond:
                    self.connected = True
                fresh = True
            batch = self._take_batch()
            ok = False
            try:
                if self._peer_closed(sock):
                    raise OSError("collector closed the connection")
                notice, count = self._notice(fresh)
                if notice is not None:
                    sock.sendall(_frame(notice.encode("utf-8")))
                    self._reported(count)
                    _write_stdout(notice)
                fresh = False
                sock.sendall(b"".join(_frame(data) for data in batch))
                ok = True
            except OSError:
                pass
            self._done(batch, ok)
            if ok:
                delay = BACKOFF_MIN
            else:
                with self._cond:
                    self.connected = False
                try:
                    sock.close()
                except OSError:
                    pass
                sock = None
                delay = self._backoff(delay)


def _frame(data):
    return b"%d %s" % (len(data), data)


def _datagram(data):
    if len(data) <= _MAX_DATAGRAM:
        return data
    return data[:_MAX_DATAGRAM].decode("utf-8", "ignore").encode("utf-8")


_forwarder = None
_forwarder_ready = False
_forwarder_lock = threading.Lock()
_atexit_registered = False


def _get_forwarder():
    """The process's forwarder (created on first use from the environment), or None."""
    global _forwarder_ready
    if _forwarder_ready:
        return _forwarder
    with _forwarder_lock:
        if not _forwarder_ready:
            try:
                _create_forwarder()
            finally:  # published only once _forwarder is set: no thread sees a half state
                _forwarder_ready = True
        return _forwarder


def _create_forwarder():
    global _forwarder, _atexit_registered
    raw = os.environ.get(TARGET_ENV, "")
    if not raw.strip():
        return
    try:
        proto, host, port = parse_target(raw)
    except ValueError as exc:
        _write_stdout(format_line(
            FORWARD_MSGID, _forward_notice(raw, error=str(exc)),
            msg="invalid %s, log forwarding disabled" % TARGET_ENV, severity="warning"))
        return
    raw_size = os.environ.get(QUEUE_ENV)
    size = DEFAULT_QUEUE if raw_size is None else _queue_size(raw_size)
    if size is None:
        size = DEFAULT_QUEUE
        _write_stdout(format_line(
            FORWARD_MSGID, _forward_notice(raw, queue=raw_size),
            msg="invalid %s, using %d" % (QUEUE_ENV, DEFAULT_QUEUE), severity="warning"))
    _forwarder = _Forwarder(proto, host, port, size)
    if not _atexit_registered:
        atexit.register(_flush_at_exit)
        _atexit_registered = True


def _flush_at_exit():
    forwarder = _forwarder
    if forwarder is not None:
        try:
            forwarder.flush(EXIT_FLUSH_SECONDS)
        except Exception:
            pass


def forwarder_stats():
    """Forwarder counters: ``sent``, ``dropped``, ``queued``, ``connected`` (+ ``target``)."""
    forwarder = _forwarder
    if forwarder is None:
        return {"sent": 0, "dropped": 0, "queued": 0, "connected": False, "target": None}
    return forwarder.stats()


def _after_fork_in_child():
    """Threads do not survive fork: the child builds its own forwarder (and fresh locks)."""
    global _forwarder, _forwarder_ready, _forwarder_lock, _write_lock
    _forwarder = None
    _forwarder_ready = False
    _forwarder_lock = threading.Lock()
    _write_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
