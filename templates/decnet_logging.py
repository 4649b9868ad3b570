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
"""

import datetime as _dt
import os
import socket
import sys
import threading

__all__ = ["format_line", "log_event", "SEVERITIES", "SD_ID", "FACILITY"]

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


def log_event(msgid, src_ip, src_port, msg="", severity="info", **fields):
    """Write one event line to stdout and flush. Never raises."""
    try:
        data = {"src_ip": src_ip, "src_port": src_port}
        data.update(fields)
        line = format_line(msgid, data, msg=msg, severity=severity)
        with _write_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    except Exception:  # a logging failure must never take a service down
        pass
