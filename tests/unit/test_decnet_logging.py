"""Unit tests of templates/decnet_logging.py (the services' RFC 5424 logging helper)."""

import datetime as dt
import io
import os
import re
import sys

import pytest

TEMPLATES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "templates"))
if TEMPLATES not in sys.path:
    sys.path.insert(0, TEMPLATES)

import decnet_logging  # noqa: E402
from decnet_logging import format_line, log_event  # noqa: E402

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, 12345, tzinfo=dt.timezone.utc)

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]
LINE_RE = re.compile(
    r'^<(?P<pri>\d{1,3})>1 '
    r'(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) '
    r'(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) '
    r'(?P<msgid>[!-~]{1,32}) '
    r'(?P<sd>-|\[decnet@32473(?: [^= \]"]{1,32}="(?:[^"\\\]]|\\["\\\]]|\\[^"\\\]])*")*\])'
    r'(?: (?P<msg>.+))?$'
)


def fmt(msgid="connect", fields=None, **kw):
    kw.setdefault("hostname", "decky-01")
    kw.setdefault("app", "ssh")
    kw.setdefault("now", NOW)
    kw.setdefault("procid", 42)
    if fields is None:
        fields = {"src_ip": "10.0.0.5", "src_port": 51234}
    return format_line(msgid, fields, **kw)


def test_exact_line():
    line = fmt(msg="hello")
    assert line == (
        '<134>1 2024-05-06T07:08:09.012345Z decky-01 ssh 42 connect '
        '[decnet@32473 src_ip="10.0.0.5" src_port="51234"] hello'
    )
    assert LINE_RE.match(line)


@pytest.mark.parametrize("severity,pri", [
    ("emerg", 128), ("alert", 129), ("crit", 130), ("err", 131), ("error", 131),
    ("warning", 132), ("notice", 133), ("info", 134), ("debug", 135),
    ("WARNING", 132), (5, 133), ("bogus", 134), (99, 134),
])
def test_pri_is_local0_plus_severity(severity, pri):
    assert fmt(severity=severity).startswith("<%d>1 " % pri)


def test_default_severity_is_info():
    assert fmt().startswith("<134>1 ")


def test_timestamp_naive_is_utc_and_aware_is_converted():
    naive = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert " 2024-01-02T03:04:05.000000Z " in fmt(now=naive)
    plus2 = dt.timezone(dt.timedelta(hours=2))
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=plus2)
    assert " 2024-01-02T01:04:05.999999Z " in fmt(now=aware)


def test_timestamp_defaults_to_now():
    line = format_line("connect", {"a": 1}, hostname="h", app="a", procid=1)
    assert LINE_RE.match(line)


def test_nil_values_for_empty_fields_and_no_msg():
    line = format_line("", {}, hostname="", app="", procid="", now=NOW)
    assert line == "<134>1 2024-05-06T07:08:09.012345Z - - - - -"
    assert LINE_RE.match(line)


def test_empty_msg_is_omitted():
    line = fmt(msg="")
    assert line.endswith('src_port="51234"]')


def test_sd_value_escaping():
    line = fmt(fields={"v": 'a\\b"c]d'})
    assert '[decnet@32473 v="a\\\\b\\"c\\]d"]' in line
    assert LINE_RE.match(line)


def test_sd_value_newlines_stay_on_one_line():
    line = fmt(fields={"password": "p1\r\np2\rp3\nend"}, msg="multi\nline\r\nmsg")
    assert "\n" not in line and "\r" not in line
    assert 'password="p1\\np2\\np3\\nend"' in line
    assert line.endswith(" multi\\nline\\nmsg")
    assert len(line.splitlines()) == 1


def test_other_control_and_line_separator_characters_are_escaped():
    line = fmt(fields={"x": "a\x00b\x1bc\x0bd\x0ce\u2028f\x85g\tt"})
    assert len(line.splitlines()) == 1
    assert 'x="a\\x00b\\x1bc\\x0bd\\x0ce\\u2028f\\x85g\tt"' in line


def test_non_ascii_values_kept_and_surrogates_survive():
    line = fmt(fields={"user": "ünïcødé", "raw": b"\xff\xfeok", "sur": "a\udcffb"})
    assert 'user="ünïcødé"' in line
    # undecodable bytes become backslash escapes, whose backslash is then SD-escaped,
    # so an RFC 5424 parser reads back the text \xff\xfeok
    assert 'raw="\\\\xff\\\\xfeok"' in line
    assert 'sur="a\\\\udcffb"' in line
    line.encode("utf-8")  # must not raise


def test_param_names_sanitized_and_truncated():
    line = fmt(fields={'a b=c]d"e': 1, "x" * 40: 2, "": 3, "é": 4})
    assert 'a_b_c_d_e="1"' in line
    assert ' %s="2"' % ("x" * 32) in line
    assert ' _="3"' in line
    assert ' _="4"' in line
    assert LINE_RE.match(line)


def test_header_fields_sanitized():
    line = fmt(hostname="my host\n", app="a p p", msgid="bad id", procid="1 2")
    m = LINE_RE.match(line)
    assert m, line
    assert m["host"] == "my_host_"
    assert m["app"] == "a_p_p"
    assert m["procid"] == "1_2"
    assert m["msgid"] == "bad_id"


def test_header_field_lengths_truncated():
    m = LINE_RE.match(fmt(hostname="h" * 300, app="a" * 60, msgid="m" * 40))
    assert m
    assert len(m["host"]) == 255 and len(m["app"]) == 48 and len(m["msgid"]) == 32


def test_values_none_and_numbers():
    line = fmt(fields={"a": None, "b": 0, "c": 1.5, "d": True})
    assert 'a="" b="0" c="1.5" d="True"' in line


def test_field_order_preserved():
    line = fmt(fields={"src_ip": "1.2.3.4", "src_port": 1, "username": "u", "password": "p"})
    assert '[decnet@32473 src_ip="1.2.3.4" src_port="1" username="u" password="p"]' in line


def test_env_defaults(monkeypatch):
    monkeypatch.setenv("DECNET_DECKY", "decky-07")
    monkeypatch.setenv("DECNET_SERVICE", "ftp")
    m = LINE_RE.match(format_line("auth", {"k": "v"}, now=NOW))
    assert m["host"] == "decky-07" and m["app"] == "ftp" and m["procid"] == str(os.getpid())


def test_hostname_falls_back_to_gethostname(monkeypatch):
    monkeypatch.delenv("DECNET_DECKY", raising=False)
    monkeypatch.delenv("DECNET_SERVICE", raising=False)
    monkeypatch.setattr(decnet_logging.socket, "gethostname", lambda: "box")
    m = LINE_RE.match(format_line("auth", {"k": "v"}, now=NOW))
    assert m["host"] == "box" and m["app"] == "-"


def test_log_event_writes_one_flushed_line(monkeypatch):
    monkeypatch.setenv("DECNET_DECKY", "d1")
    monkeypatch.setenv("DECNET_SERVICE", "http")
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)
    log_event("auth", "192.0.2.9", 40000, msg="login", severity="notice",
              username="root", password='x"y\nz')
    out = buf.getvalue()
    assert out.endswith("\n") and out.count("\n") == 1
    line = out[:-1]
    m = LINE_RE.match(line)
    assert m, line
    assert m["pri"] == "133" and m["msgid"] == "auth" and m["host"] == "d1"
    assert ('[decnet@32473 src_ip="192.0.2.9" src_port="40000" username="root" '
            'password="x\\"y\\nz"] login') in line


def test_log_event_never_raises(monkeypatch):
    class Broken:
        def write(self, _):
            raise BrokenPipeError

        def flush(self):
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", Broken())
    log_event("connect", "1.2.3.4", 1)  # no exception
