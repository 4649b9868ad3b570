"""Forwarding of templates/decnet_logging.py lines to a UDP / TCP (RFC 6587) collector.

Every scenario runs the helper in a fresh subprocess (module state, sender thread, atexit
flush) against real sockets on 127.0.0.1; the collector side lives in this process.
"""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.abspath(os.path.join(HERE, "..", "..", "templates"))
if TEMPLATES not in sys.path:
    sys.path.insert(0, TEMPLATES)

import decnet_logging  # noqa: E402

LINE_RE = re.compile(
    r'^<(?P<pri>\d{1,3})>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z '
    r'(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) [!-~]{1,128} (?P<msgid>[!-~]{1,32}) '
    r'(?P<sd>-|\[decnet@32473(?: [^= \]"]{1,32}="(?:[^"\\\]]|\\.)*")*\])(?: (?P<msg>.+))?$')
PARAM_RE = re.compile(r' ([^= \]"]+)="((?:[^"\\\]]|\\.)*)"')


def parse(line):
    """Strict RFC 5424 (as decnet_logging writes it); AssertionError when malformed."""
    m = LINE_RE.match(line)
    assert m, "not an RFC 5424 line: %r" % line
    sd = {k: re.sub(r'\\(["\\\]])', r"\1", v) for k, v in PARAM_RE.findall(m["sd"])}
    return {"severity": int(m["pri"]) - 128, "hostname": m["host"], "app": m["app"],
            "msgid": m["msgid"], "sd": sd, "msg": m["msg"] or ""}

UNICODE = "pässwörd-пароль-€-𝄞"

PRELUDE = """
import json, sys, time
sys.path.insert(0, %r)
import decnet_logging as dl
UNICODE = %r

def stats():
    sys.stderr.write("STATS " + json.dumps(dl.forwarder_stats()) + "\\n")
    sys.stderr.flush()

def wait_sent(n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while dl.forwarder_stats()["sent"] < n and time.monotonic() < deadline:
        time.sleep(0.01)
""" % (TEMPLATES, UNICODE)


def child(body, target, queue=None, **popen):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(DECNET_DECKY="decky-01", DECNET_SERVICE="ssh", PYTHONIOENCODING="utf-8")
    if target is not None:
        env["DECNET_LOG_TARGET"] = target
    if queue is not None:
        env["DECNET_LOG_QUEUE"] = str(queue)
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **popen)


def finish(proc, timeout=15):
    out, err = proc.communicate(timeout=timeout)
    out, err = out.decode("utf-8"), err.decode("utf-8")
    assert proc.returncode == 0, err
    stats = [json.loads(ln[6:]) for ln in err.splitlines() if ln.startswith("STATS ")]
    noise = [ln for ln in err.splitlines() if not ln.startswith(("STATS ", "PHASE"))]
    assert not noise, err  # no traceback from the sender thread, ever
    finish.phases = [ln[6:] for ln in err.splitlines() if ln.startswith("PHASE ")]
    return out.splitlines(), stats


def events(lines, msgid="auth"):
    return [ln for ln in lines if parse(ln)["msgid"] == msgid]


def read_frames(data):
    """Strict RFC 6587 octet-counting parser: LEN SP MSG, LEN = UTF-8 byte length."""
    frames, pos = [], 0
    while pos < len(data):
        space = data.index(b" ", pos)
        digits = data[pos:space]
        assert digits.isdigit() and not digits.startswith(b"0"), data[pos:pos + 40]
        length = int(digits)
        msg = data[space + 1:space + 1 + length]
        assert len(msg) == length, "truncated frame"
        frames.append(msg.decode("utf-8"))
        pos = space + 1 + length
    return frames


def read_all(conn, timeout=10.0):
    conn.settimeout(timeout)
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def read_n_frames(conn, n, timeout=10.0):
    """Read until n complete frames arrived (without waiting for EOF)."""
    conn.settimeout(timeout)
    data = b""
    while True:
        try:
            frames = read_frames(data)
            if len(frames) >= n:
                return frames
        except (ValueError, AssertionError):
            pass
        chunk = conn.recv(65536)
        assert chunk, "collector connection closed early"
        data += chunk


@pytest.fixture
def listener():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    yield srv
    srv.close()


# ---------------------------------------------------------------- target parsing (pure)

@pytest.mark.parametrize("value,expected", [
    ("udp://127.0.0.1:514", ("udp", "127.0.0.1", 514)),
    ("TCP://collector:6514", ("tcp", "collector", 6514)),
    ("tcp://logs.example.org.:1", ("tcp", "logs.example.org", 1)),
    (" udp://decnet_collector:65535 ", ("udp", "decnet_collector", 65535)),
])
def test_parse_target_accepts(value, expected):
    assert decnet_logging.parse_target(value) == expected


@pytest.mark.parametrize("value", [
    "127.0.0.1:514", "http://127.0.0.1:514", "udp://127.0.0.1", "udp://:514",
    "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000", "tcp://999.1.1.1:514", "tcp://1.2.3:514",
    "tcp://-bad-:514", "tcp://a..b:514", "tcp://[::1]:514", "tcp://h:51x", "udp://h o:1",
])
def test_parse_target_rejects(value):
    with pytest.raises(ValueError):
        decnet_logging.parse_target(value)


def test_no_target_means_no_forwarder():
    assert decnet_logging.forwarder_stats() == {
        "sent": 0, "dropped": 0, "queued": 0, "connected": False, "target": None}


# ---------------------------------------------------------------- UDP

def test_udp_one_datagram_per_line():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    port = rx.getsockname()[1]
    try:
        proc = child("""
            for i in range(20):
                dl.log_event("auth", "192.0.2.7", 40000 + i, msg="try %d" % i,
                             username="root", password=UNICODE)
            wait_sent(20)
            stats()
        """, "udp://127.0.0.1:%d" % port)
        datagrams = [rx.recv(65535) for _ in range(20)]
        lines, stats = finish(proc)
    finally:
        rx.close()
    assert all(not d.endswith(b"\n") for d in datagrams)
    received = [d.decode("utf-8") for d in datagrams]
    assert received == lines  # same bytes as stdout, same order
    for i, line in enumerate(received):
        ev = parse(line)
        assert ev["msgid"] == "auth" and ev["hostname"] == "decky-01" and ev["app"] == "ssh"
        assert ev["sd"]["src_port"] == str(40000 + i) and ev["sd"]["password"] == UNICODE
    assert stats[0]["sent"] == 20 and stats[0]["dropped"] == 0 and stats[0]["connected"]


# ---------------------------------------------------------------- TCP

def test_tcp_octet_counting_and_exit_flush(listener):
    listener.listen(5)
    port = listener.getsockname()[1]
    # the child exits right after logging: delivery relies on the atexit flush
    proc = child("""
        for i in range(200):
            dl.log_event("auth", "192.0.2.8", 50000 + i, msg="msg %d" % i, password=UNICODE)
    """, "tcp://127.0.0.1:%d" % port)
    listener.settimeout(10)
    conn, _ = listener.accept()
    data = read_all(conn)
    conn.close()
    lines, _ = finish(proc)
    frames = read_frames(data)
    assert frames == lines and len(frames) == 200
    first = frames[0].encode("utf-8")
    assert data.startswith(b"%d %s" % (len(first), first))
    assert len(first) > len(frames[0])  # the multi-byte value: bytes, not characters
    assert parse(frames[-1])["sd"]["password"] == UNICODE


def test_collector_down_then_up_reports_drops(listener):
    # bound but not listening: connections are refused until listen()
    port = listener.getsockname()[1]
    proc = child("""
        for i in range(50):
            dl.log_event("auth", "192.0.2.9", i, msg="early %d" % i)
        time.sleep(0.3)  # the sender has tried (refused) and is backing off
        stats()
        sys.stderr.write("PHASE logged\\n"); sys.stderr.flush()
        wait_sent(10)
        stats()
    """, "tcp://127.0.0.1:%d" % port, queue=10)
    first = proc.stderr.readline()
    assert first.startswith(b"STATS ")
    assert proc.stderr.readline() == b"PHASE logged\n"
    listener.listen(5)
    listener.settimeout(10)
    conn, _ = listener.accept()
    data = read_all(conn)
    conn.close()
    lines, stats = finish(proc)
    before = json.loads(first[6:])
    assert before["connected"] is False and before["dropped"] == 40
    assert before["queued"] == 10 and before["sent"] == 0
    assert stats[-1]["sent"] == 10 and stats[-1]["connected"] is True

    frames = read_frames(data)
    notice = parse(frames[0])
    assert notice["msgid"] == "forwarding" and notice["severity"] == 4
    assert notice["sd"]["dropped"] == "40"
    # then the queue, in order: the 10 newest lines (the 40 oldest were dropped)
    assert frames[1:] == events(lines)[40:]
    # stdout has every event, plus the same notice
    assert [parse(ln)["msg"] for ln in events(lines)] == ["early %d" % i for i in range(50)]
    assert frames[0] in lines


def test_reconnect_after_collector_closes(listener):
    listener.listen(5)
    port = listener.getsockname()[1]
    proc = child("""
        for i in range(5):
            dl.log_event("auth", "192.0.2.10", i, msg="a%d" % i)
        wait_sent(5)
        sys.stderr.write("PHASE one\\n"); sys.stderr.flush()
        sys.stdin.readline()
        for i in range(5):
            dl.log_event("auth", "192.0.2.10", i, msg="b%d" % i)
        wait_sent(10)
        stats()
    """, "tcp://127.0.0.1:%d" % port, stdin=subprocess.PIPE)
    listener.settimeout(10)
    conn1, _ = listener.accept()
    first = read_n_frames(conn1, 5)
    assert proc.stderr.readline() == b"PHASE one\n"
    conn1.close()  # collector goes away
    time.sleep(0.1)
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    conn2, _ = listener.accept()  # the sender reconnects (same listener)
    second = read_frames(read_all(conn2))
    conn2.close()
    lines, stats = finish(proc)
    assert [parse(f)["msg"] for f in first] == ["a%d" % i for i in range(5)]
    assert [parse(f)["msg"] for f in second] == ["b%d" % i for i in range(5)]
    assert first + second == lines
    assert stats[-1]["sent"] == 10 and stats[-1]["dropped"] == 0


def test_black_holed_collector_never_slows_log_event(listener):
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.listen(1)  # the kernel completes the handshake; nobody ever reads
    port = listener.getsockname()[1]
    started = time.monotonic()
    proc = child("""
        fwd = dl._get_forwarder()
        big = "x" * 65536
        # fill the socket buffers until the sender is stuck inside sendall()
        deadline = time.monotonic() + 8
        last, still = None, 0
        while time.monotonic() < deadline and still < 3:
            for _ in range(20):
                fwd.put(big)
            time.sleep(0.1)
            now = dl.forwarder_stats()
            still = still + 1 if (now["sent"] == last and now["connected"]) else 0
            last = now["sent"]
        stats()
        t0 = time.perf_counter()
        for i in range(5000):
            dl.log_event("auth", "192.0.2.11", i % 65536, msg="attempt", n=i)
        elapsed = time.perf_counter() - t0
        stats()
        sys.stderr.write("PHASE %f\\n" % elapsed); sys.stderr.flush()
    """, "tcp://127.0.0.1:%d" % port, queue=50)
    lines, stats = finish(proc)
    total = time.monotonic() - started
    elapsed = float(finish.phases[-1])
    assert elapsed < 0.8, "5000 log_event calls took %.2f s" % elapsed
    stuck, after = stats
    assert stuck["connected"] and stuck["queued"] > 0  # the sender really was blocked
    assert after["sent"] == stuck["sent"]  # ... and stayed blocked while we logged
    assert after["queued"] <= 2 * 50 and after["dropped"] >= 5000 - 2 * 50
    assert after["sent"] + after["dropped"] + after["queued"] == stuck["sent"] + stuck[
        "dropped"] + stuck["queued"] + 5000
    ev = events(lines)
    assert [int(parse(ln)["sd"]["n"]) for ln in ev] == list(range(5000))  # stdout: every line
    # exit is bounded: the atexit flush gives up after 1 s and the daemon thread dies
    assert total < 12


def test_unreachable_collector_costs_nothing():
    # a refused port: the sender backs off, log_event keeps its pace
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    try:
        proc = child("""
            t0 = time.perf_counter()
            for i in range(5000):
                dl.log_event("auth", "192.0.2.13", 1, n=i)
            sys.stderr.write("PHASE %f\\n" % (time.perf_counter() - t0))
            stats()
        """, "tcp://127.0.0.1:%d" % port, queue=100)
        lines, stats = finish(proc)
    finally:
        probe.close()
    assert len(lines) == 5000
    assert stats[0]["dropped"] == 4900 and stats[0]["queued"] == 100
    assert stats[0]["sent"] == 0 and stats[0]["connected"] is False


def test_forked_child_gets_its_own_sender():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    try:
        proc = child("""
            import os
            dl.log_event("auth", "192.0.2.16", 1, msg="parent")
            wait_sent(1)
            pid = os.fork()
            if pid == 0:
                dl.log_event("auth", "192.0.2.16", 2, msg="child")
                wait_sent(1)
                sys.stdout.flush()
                os._exit(0 if dl.forwarder_stats()["sent"] == 1 else 3)
            assert os.waitpid(pid, 0)[1] == 0
        """, "udp://127.0.0.1:%d" % rx.getsockname()[1])
        got = sorted(parse(rx.recv(65535).decode("utf-8"))["msg"] for _ in range(2))
        lines, _ = finish(proc)
    finally:
        rx.close()
    assert got == ["child", "parent"]
    assert sorted(parse(ln)["msg"] for ln in lines) == ["child", "parent"]


# ---------------------------------------------------------------- bad configuration

@pytest.mark.parametrize("target", ["http://127.0.0.1:514", "tcp://127.0.0.1:99999",
                                    "udp://nohostport", "tcp://[::1]:514"])
def test_bad_target_warns_once_and_forwards_nothing(target):
    proc = child("""
        for i in range(3):
            dl.log_event("auth", "192.0.2.14", i, msg="m%d" % i)
        stats()
    """, target)
    lines, stats = finish(proc)
    assert len(lines) == 4
    warning = parse(lines[0])
    assert warning["msgid"] == "forwarding" and warning["severity"] == 4
    assert warning["sd"]["target"] == target
    assert [parse(ln)["msg"] for ln in lines[1:]] == ["m0", "m1", "m2"]
    assert stats[0]["target"] is None and stats[0]["sent"] == 0


def test_bad_queue_size_falls_back_to_default():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    try:
        proc = child("""
            dl.log_event("auth", "192.0.2.15", 1)
            wait_sent(1)
        """, "udp://127.0.0.1:%d" % rx.getsockname()[1], queue="lots")
        got = rx.recv(65535).decode("utf-8")
        lines, _ = finish(proc)
    finally:
        rx.close()
    assert parse(lines[0])["msgid"] == "forwarding" and parse(lines[0])["sd"]["queue"] == "lots"
    assert got == lines[1]
