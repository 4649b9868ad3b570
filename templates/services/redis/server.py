#!/usr/bin/env python3
"""DECNET redis decoy: a Redis 7.0 (Debian package, no requirepass) look-alike.

Standard library only. Listens on 0.0.0.0:6379 (``DECNET_REDIS_PORT`` overrides). Parses
RESP2 (arrays of bulk strings) and inline commands, keeps a small bounded in-memory keyspace
(strings, lists, hashes, sets) so reads follow writes, and answers the commands attackers use
(INFO, CONFIG, KEYS, SCAN, GET/SET, CLIENT, COMMAND, SLAVEOF, MODULE, ...) as 7.0 does. AUTH is
recorded and always refused.

Events (RFC 5424 on stdout, via decnet_logging/decnet_tcp): connect, command (every command,
with its command line), auth (AUTH and HELLO ... AUTH, severity notice), disconnect.

Settings: DECNET_REDIS_VERSION (default ``7.0.15``), DECNET_REDIS_OS
(default ``Linux 6.1.0-18-amd64 x86_64``), DECNET_REDIS_PROTECTED_CONFIGS (default ``no``, as
7.0 ships: CONFIG SET dir/dbfilename is refused; ``yes`` accepts it).
"""

import fnmatch
import hashlib
import os
import random
import socket
import threading
import time

from decnet_tcp import Session, clip, env, serve

VERSION = env("DECNET_REDIS_VERSION", "7.0.15")
OS_NAME = env("DECNET_REDIS_OS", "Linux 6.1.0-18-amd64 x86_64")
PORT = int(env("DECNET_REDIS_PORT", "6379"))
HOSTNAME = env("DECNET_HOSTNAME", env("DECNET_DECKY", "redis"))
# redis.conf "enable-protected-configs": "no" (the 7.0 default) refuses CONFIG SET dir/dbfilename;
# "yes" lets the classic write-a-file-via-SAVE attack proceed (it is only recorded)
PROTECTED_CONFIGS = "yes" if env("DECNET_REDIS_PROTECTED_CONFIGS", "no").lower() in ("yes", "1", "true") else "no"

MAX_ARGS = 1024 * 1024          # redis: "invalid multibulk length" above this
MAX_BULK = 512 * 1024 * 1024    # proto-max-bulk-len
KEEP_BYTES = 1024 * 1024        # bytes of one request actually kept in memory
MAX_INLINE = 64 * 1024          # PROTO_INLINE_MAX_SIZE
MAX_KEYS = 2048                 # the keyspace is bounded...
MAX_STORE_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 1024                # ...and so is every list/hash/set
DATABASES = 16

_rng = random.SystemRandom()
_seed = hashlib.sha1((HOSTNAME + "|redis").encode()).digest()
_host_rng = random.Random(_seed)   # stable per decky: ids, counters, "history"

STARTED = time.time() - _host_rng.randint(3, 40) * 86400 - _host_rng.randint(0, 86399)
RUN_ID = "%040x" % _rng.getrandbits(160)
REPL_ID = "%040x" % _rng.getrandbits(160)
PROCESS_ID = _host_rng.randint(600, 2400)
BUILD_ID = "%016x" % _host_rng.getrandbits(64)
LAST_SAVE = int(time.time()) - _host_rng.randint(30, 3000)
SAVES_BASE = _host_rng.randint(0, 3)


def _b(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def _s(value):
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


# --- RESP encoding -------------------------------------------------------------------------
class Raw(bytes):
    """An already RESP-encoded element inside an array."""


class Err(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.text = text


def simple(text):
    return b"+" + _b(text) + b"\r\n"


def error(text):
    return b"-" + _b(text) + b"\r\n"


def integer(n):
    return b":%d\r\n" % n


def bulk(value):
    if value is None:
        return b"$-1\r\n"
    value = _b(value)
    return b"$%d\r\n%s\r\n" % (len(value), value)


def array(items):
    if items is None:
        return b"*-1\r\n"
    out = [b"*%d\r\n" % len(items)]
    for item in items:
        if isinstance(item, Raw):
            out.append(item)
        elif isinstance(item, int):
            out.append(integer(item))
        elif isinstance(item, list):
            out.append(array(item))
        else:
            out.append(bulk(item))
    return b"".join(out)


OK = simple("OK")


def wrong_args(name):
    return Err("ERR wrong number of arguments for '%s' command" % name)


def to_int(value):
    try:
        s = _s(value)
        if not s or s.strip() != s or len(s) > 20:
            raise ValueError
        return int(s)
    except ValueError:
        raise Err("ERR value is not an integer or out of range")


# --- shared state --------------------------------------------------------------------------
class Store:
    """All databases, guarded by one lock; bounded in keys and bytes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.dbs = [dict() for _ in range(DATABASES)]
        self.expires = [dict() for _ in range(DATABASES)]
        self.bytes = 0
        self.dirty = 0
        self.hits = 0
        self.misses = 0
        self.expired = 0

    @staticmethod
    def size_of(value):
        if isinstance(value, bytes):
            return len(value) + 16
        if isinstance(value, dict):
            return sum(len(k) + len(v) + 32 for k, v in value.items())
        return sum(len(v) + 16 for v in value)

    def purge(self, db, key):
        exp = self.expires[db].get(key)
        if exp is not None and exp <= time.time():
            self.delete(db, key)
            self.expired += 1

    def get(self, db, key):
        self.purge(db, key)
        value = self.dbs[db].get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, db, key, value):
        old = self.dbs[db].get(key)
        new_bytes = self.bytes - (self.size_of(old) + len(key) if old is not None else 0) \
            + self.size_of(value) + len(key)
        if (old is None and sum(len(d) for d in self.dbs) >= MAX_KEYS) or new_bytes > MAX_STORE_BYTES:
            raise Err("OOM command not allowed when used memory > 'maxmemory'.")
        self.dbs[db][key] = value
        self.bytes = new_bytes
        self.dirty += 1

    def delete(self, db, key):
        old = self.dbs[db].pop(key, None)
        self.expires[db].pop(key, None)
        if old is not None:
            self.bytes -= self.size_of(old) + len(key)
            self.dirty += 1
            return True
        return False

    def keys(self, db):
        for key in list(self.dbs[db]):
            self.purge(db, key)
        # hash-table order: scrambled, but stable while the table does not change
        return sorted(self.dbs[db], key=lambda k: hashlib.md5(k).digest())

    def flush(self, db=None):
        for i in range(DATABASES) if db is None else (db,):
            for key in list(self.dbs[i]):
                self.delete(i, key)


STORE = Store()


def _seed_store():
    """A few keys of a web application's cache, so the keyspace is not suspiciously empty."""
    r = _host_rng
    db = STORE.dbs[0]
    for _ in range(r.randint(3, 7)):
        sid = "%032x" % r.getrandbits(128)
        db[b"session:" + sid.encode()] = (
            '{"user_id":%d,"csrf":"%s","last_seen":%d}'
            % (r.randint(2, 900), "%024x" % r.getrandbits(96), int(time.time()) - r.randint(5, 3600))).encode()
    db[b"cache:config:site"] = b'{"maintenance":false,"theme":"default","locale":"en_US"}'
    db[b"stats:visits"] = str(r.randint(20000, 400000)).encode()
    db[b"queue:mail"] = [b'{"to":"ops@%s","tpl":"report"}' % HOSTNAME.encode()]
    db[b"user:1"] = {b"name": b"admin", b"email": b"admin@" + HOSTNAME.encode() + b".local",
                     b"role": b"admin"}
    db[b"rate:login:10.0.2.15"] = b"3"
    STORE.expires[0][b"rate:login:10.0.2.15"] = time.time() + 3600 * 24 * 30
    STORE.bytes = sum(Store.size_of(v) + len(k) for k, v in db.items())
    STORE.dirty = 0


_seed_store()


class Stats:
    lock = threading.Lock()
    connections = _host_rng.randint(40, 900)
    commands = _host_rng.randint(2000, 90000)
    net_in = _host_rng.randint(10 ** 5, 10 ** 7)
    net_out = _host_rng.randint(10 ** 6, 10 ** 8)
    errors = _host_rng.randint(0, 40)
    connected = 0
    rejected = 0
    next_client_id = _host_rng.randint(50, 4000)
    clients = {}   # id -> session


CONFIG = {
    "bind": "* -::*",
    "port": str(PORT),
    "protected-mode": "no",
    "tcp-backlog": "511",
    "timeout": "0",
    "tcp-keepalive": "300",
    "daemonize": "yes",
    "supervised": "systemd",
    "pidfile": "/run/redis/redis-server.pid",
    "loglevel": "notice",
    "logfile": "/var/log/redis/redis-server.log",
    "databases": str(DATABASES),
    "save": "3600 1 300 100 60 10000",
    "stop-writes-on-bgsave-error": "yes",
    "rdbcompression": "yes",
    "rdbchecksum": "yes",
    "dbfilename": "dump.rdb",
    "dir": "/var/lib/redis",
    "requirepass": "",
    "masterauth": "",
    "masteruser": "",
    "replica-read-only": "yes",
    "replica-serve-stale-data": "yes",
    "replicaof": "",
    "maxclients": "10000",
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "maxmemory-samples": "5",
    "appendonly": "no",
    "appendfilename": "appendonly.aof",
    "appenddirname": "appendonlydir",
    "appendfsync": "everysec",
    "no-appendfsync-on-rewrite": "no",
    "auto-aof-rewrite-percentage": "100",
    "auto-aof-rewrite-min-size": "67108864",
    "lua-time-limit": "5000",
    "busy-reply-threshold": "5000",
    "slowlog-log-slower-than": "10000",
    "slowlog-max-len": "128",
    "latency-monitor-threshold": "0",
    "notify-keyspace-events": "",
    "hash-max-listpack-entries": "128",
    "hash-max-listpack-value": "64",
    "list-max-listpack-size": "-2",
    "set-max-intset-entries": "512",
    "zset-max-listpack-entries": "128",
    "zset-max-listpack-value": "64",
    "activerehashing": "yes",
    "hz": "10",
    "dynamic-hz": "yes",
    "io-threads": "1",
    "enable-protected-configs": PROTECTED_CONFIGS,
    "enable-debug-command": "no",
    "enable-module-command": "no",
    "aclfile": "",
    "unixsocket": "",
    "unixsocketperm": "0",
    "tls-port": "0",
    "cluster-enabled": "no",
    "repl-backlog-size": "1048576",
    "lazyfree-lazy-eviction": "no",
    "oom-score-adj": "no",
    "jemalloc-bg-thread": "yes",
}
# CONFIG SET refuses these as 7.0 does
IMMUTABLE = {"daemonize", "supervised", "pidfile", "logfile", "databases", "io-threads", "aclfile",
             "unixsocket", "unixsocketperm", "appendfilename", "appenddirname", "cluster-enabled",
             "enable-protected-configs", "enable-debug-command", "enable-module-command",
             "rdbchecksum", "tcp-backlog"}
PROTECTED = {"dir", "dbfilename"}
CONFIG_ALIASES = {"slaveof": "replicaof", "slave-read-only": "replica-read-only",
                  "slave-serve-stale-data": "replica-serve-stale-data"}
CONFIG_LOCK = threading.Lock()

# name -> (arity, flags, first key, last key, step), as COMMAND INFO reports them
COMMANDS = {
    "get": (2, ["readonly", "fast"], 1, 1, 1), "set": (-3, ["write", "denyoom"], 1, 1, 1),
    "setnx": (3, ["write", "denyoom", "fast"], 1, 1, 1), "setex": (4, ["write", "denyoom"], 1, 1, 1),
    "getset": (3, ["write", "denyoom", "fast"], 1, 1, 1), "getdel": (2, ["write", "fast"], 1, 1, 1),
    "mget": (-2, ["readonly", "fast"], 1, -1, 1), "mset": (-3, ["write", "denyoom"], 1, -1, 2),
    "append": (3, ["write", "denyoom", "fast"], 1, 1, 1), "strlen": (2, ["readonly", "fast"], 1, 1, 1),
    "incr": (2, ["write", "denyoom", "fast"], 1, 1, 1), "decr": (2, ["write", "denyoom", "fast"], 1, 1, 1),
    "incrby": (3, ["write", "denyoom", "fast"], 1, 1, 1), "decrby": (3, ["write", "denyoom", "fast"], 1, 1, 1),
    "del": (-2, ["write"], 1, -1, 1), "unlink": (-2, ["write", "fast"], 1, -1, 1),
    "exists": (-2, ["readonly", "fast"], 1, -1, 1), "type": (2, ["readonly", "fast"], 1, 1, 1),
    "ttl": (2, ["readonly", "fast"], 1, 1, 1), "pttl": (2, ["readonly", "fast"], 1, 1, 1),
    "expire": (-3, ["write", "fast"], 1, 1, 1), "pexpire": (-3, ["write", "fast"], 1, 1, 1),
    "persist": (2, ["write", "fast"], 1, 1, 1), "rename": (3, ["write"], 1, 2, 1),
    "keys": (2, ["readonly"], 0, 0, 0), "scan": (-2, ["readonly"], 0, 0, 0),
    "randomkey": (1, ["readonly"], 0, 0, 0), "dbsize": (1, ["readonly", "fast"], 0, 0, 0),
    "select": (2, ["loading", "stale", "fast"], 0, 0, 0), "move": (3, ["write", "fast"], 1, 1, 1),
    "swapdb": (3, ["write", "fast"], 0, 0, 0),
    "flushdb": (-1, ["write"], 0, 0, 0), "flushall": (-1, ["write"], 0, 0, 0),
    "lpush": (-3, ["write", "denyoom", "fast"], 1, 1, 1), "rpush": (-3, ["write", "denyoom", "fast"], 1, 1, 1),
    "lpop": (-2, ["write", "fast"], 1, 1, 1), "rpop": (-2, ["write", "fast"], 1, 1, 1),
    "llen": (2, ["readonly", "fast"], 1, 1, 1), "lrange": (4, ["readonly"], 1, 1, 1),
    "lindex": (3, ["readonly"], 1, 1, 1),
    "hset": (-4, ["write", "denyoom", "fast"], 1, 1, 1), "hmset": (-4, ["write", "denyoom", "fast"], 1, 1, 1),
    "hsetnx": (4, ["write", "denyoom", "fast"], 1, 1, 1),
    "hget": (3, ["readonly", "fast"], 1, 1, 1), "hmget": (-3, ["readonly", "fast"], 1, 1, 1),
    "hgetall": (2, ["readonly"], 1, 1, 1), "hdel": (-3, ["write", "fast"], 1, 1, 1),
    "hkeys": (2, ["readonly"], 1, 1, 1), "hvals": (2, ["readonly"], 1, 1, 1),
    "hlen": (2, ["readonly", "fast"], 1, 1, 1), "hexists": (3, ["readonly", "fast"], 1, 1, 1),
    "sadd": (-3, ["write", "denyoom", "fast"], 1, 1, 1), "srem": (-3, ["write", "fast"], 1, 1, 1),
    "smembers": (2, ["readonly"], 1, 1, 1), "scard": (2, ["readonly", "fast"], 1, 1, 1),
    "sismember": (3, ["readonly", "fast"], 1, 1, 1),
    "ping": (-1, ["fast", "sentinel"], 0, 0, 0), "echo": (2, ["fast"], 0, 0, 0),
    "auth": (-2, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0),
    "hello": (-1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0),
    "quit": (-1, ["allow_busy"], 0, 0, 0), "reset": (1, ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], 0, 0, 0),
    "info": (-1, ["loading", "stale", "sentinel"], 0, 0, 0), "config": (-2, [], 0, 0, 0),
    "client": (-2, [], 0, 0, 0), "command": (-1, ["loading", "stale", "sentinel"], 0, 0, 0),
    "time": (1, ["loading", "stale", "fast"], 0, 0, 0), "lastsave": (1, ["loading", "stale", "fast"], 0, 0, 0),
    "save": (1, ["admin", "noscript", "no_async_loading", "no_multi"], 0, 0, 0),
    "bgsave": (-1, ["admin", "noscript", "no_async_loading"], 0, 0, 0),
    "bgrewriteaof": (1, ["admin", "noscript", "no_async_loading"], 0, 0, 0),
    "shutdown": (-1, ["admin", "noscript", "loading", "stale", "no_multi", "sentinel", "allow_busy"], 0, 0, 0),
    "slaveof": (3, ["admin", "noscript", "stale", "no_async_loading"], 0, 0, 0),
    "replicaof": (3, ["admin", "noscript", "stale", "no_async_loading"], 0, 0, 0),
    "role": (1, ["noscript", "loading", "stale", "fast", "sentinel"], 0, 0, 0),
    "module": (-2, [], 0, 0, 0), "acl": (-2, ["sentinel"], 0, 0, 0),
    "debug": (-2, ["admin", "noscript", "loading", "stale"], 0, 0, 0),
    "eval": (-3, ["noscript", "stale", "skip_monitor", "may_replicate", "no_mandatory_keys"], 0, 0, 0),
    "evalsha": (-3, ["noscript", "stale", "skip_monitor", "may_replicate", "no_mandatory_keys"], 0, 0, 0),
    "script": (-2, [], 0, 0, 0), "slowlog": (-2, [], 0, 0, 0), "memory": (-2, [], 0, 0, 0),
    "monitor": (1, ["admin", "noscript", "loading", "stale"], 0, 0, 0),
    "subscribe": (-2, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0),
    "psubscribe": (-2, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0),
    "publish": (3, ["pubsub", "loading", "stale", "fast", "may_replicate", "sentinel"], 0, 0, 0),
    "multi": (1, ["noscript", "loading", "stale", "fast", "allow_busy"], 0, 0, 0),
    "exec": (1, ["noscript", "loading", "stale", "skip_slowlog"], 0, 0, 0),
    "discard": (1, ["noscript", "loading", "stale", "fast", "allow_busy"], 0, 0, 0),
    "sync": (1, ["admin", "noscript", "no_async_loading", "no_multi"], 0, 0, 0),
    "psync": (-3, ["admin", "noscript", "no_async_loading", "no_multi"], 0, 0, 0),
    "wait": (3, ["noscript"], 0, 0, 0), "object": (-2, [], 0, 0, 0),
    "lolwut": (-1, ["readonly", "fast"], 0, 0, 0),
}
COMMAND_COUNT = 240
# commands whose event is logged with severity warning (write files, pull code, wipe data)
RISKY = {"slaveof", "replicaof", "flushall", "flushdb", "eval", "evalsha", "sync", "psync",
         "debug", "shutdown", "save", "bgsave", "bgrewriteaof", "monitor"}
RISKY_SUB = {("config", "set"), ("config", "rewrite"), ("module", "load"), ("module", "loadex"),
             ("acl", "setuser"), ("acl", "deluser"), ("acl", "save"), ("acl", "load"),
             ("script", "load")}  # what 7.0 reports for COMMAND COUNT


def human(n):
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return "%.2f%s" % (n / size, unit)
    return "%dB" % n


def show_arg(arg):
    """One argument as redis-cli would echo it: quoted when it holds blanks or quotes."""
    text = _s(arg[:256]) + ("..." if len(arg) > 256 else "")
    if text and not any(c.isspace() or c in "\"'" for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def glob(pattern, name):
    return fnmatch.fnmatchcase(_s(name), _s(pattern))


# --- INFO ----------------------------------------------------------------------------------
def info_text(sections):
    now = time.time()
    up = int(now - STARTED)
    with STORE.lock:
        keyspace = [(i, len(STORE.dbs[i]), len(STORE.expires[i])) for i in range(DATABASES) if STORE.dbs[i]]
        data_bytes = STORE.bytes
        dirty, hits, misses, expired = STORE.dirty, STORE.hits, STORE.misses, STORE.expired
    with Stats.lock:
        connected, conns, cmds = Stats.connected, Stats.connections, Stats.commands
        net_in, net_out, errors = Stats.net_in, Stats.net_out, Stats.errors
    used = 866432 + data_bytes + connected * 22000
    rss = 7614464 + (data_bytes // 4096) * 4096 + connected * 24576
    peak = max(used, 1037440 + data_bytes)
    startup = 862160
    cpu = up * 0.00031
    saves = up // 3600 + SAVES_BASE
    forks = saves
    total_mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) if hasattr(os, "sysconf") else 8 << 30

    out = {}
    out["server"] = [
        ("redis_version", VERSION), ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"),
        ("redis_build_id", BUILD_ID), ("redis_mode", "standalone"), ("os", OS_NAME),
        ("arch_bits", "64"), ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "12.2.0"), ("process_id", PROCESS_ID), ("process_supervised", "systemd"),
        ("run_id", RUN_ID), ("tcp_port", PORT), ("server_time_usec", int(now * 1e6)),
        ("uptime_in_seconds", up), ("uptime_in_days", up // 86400), ("hz", "10"),
        ("configured_hz", "10"), ("lru_clock", int(now) & 0xFFFFFF),
        ("executable", "/usr/bin/redis-server"), ("config_file", "/etc/redis/redis.conf"),
        ("io_threads_active", "0"),
    ]
    out["clients"] = [
        ("connected_clients", connected), ("cluster_connections", "0"), ("maxclients", "10000"),
        ("client_recent_max_input_buffer", "20480"), ("client_recent_max_output_buffer", "0"),
        ("blocked_clients", "0"), ("tracking_clients", "0"), ("clients_in_timeout_table", "0"),
    ]
    frag = rss / used
    out["memory"] = [
        ("used_memory", used), ("used_memory_human", human(used)),
        ("used_memory_rss", rss), ("used_memory_rss_human", human(rss)),
        ("used_memory_peak", peak), ("used_memory_peak_human", human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (used * 100.0 / peak)),
        ("used_memory_overhead", startup + connected * 20496 + len(keyspace) * 184),
        ("used_memory_startup", startup), ("used_memory_dataset", max(0, used - startup - connected * 20496)),
        ("used_memory_dataset_perc", "%.2f%%" % (max(0, used - startup - connected * 20496) * 100.0 / max(1, used - startup))),
        ("allocator_allocated", used + 131072), ("allocator_active", used + 524288),
        ("allocator_resident", used + 3932160),
        ("total_system_memory", total_mem), ("total_system_memory_human", human(total_mem)),
        ("used_memory_lua", "31744"), ("used_memory_vm_eval", "31744"),
        ("used_memory_lua_human", "31.00K"), ("used_memory_scripts_eval", "0"),
        ("number_of_cached_scripts", "0"), ("number_of_functions", "0"),
        ("number_of_libraries", "0"), ("used_memory_vm_functions", "32768"),
        ("used_memory_vm_total", "64512"), ("used_memory_vm_total_human", "63.00K"),
        ("used_memory_functions", "184"), ("used_memory_scripts", "184"),
        ("used_memory_scripts_human", "184B"), ("maxmemory", "0"), ("maxmemory_human", "0B"),
        ("maxmemory_policy", CONFIG["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.35"), ("allocator_frag_bytes", "393216"),
        ("allocator_rss_ratio", "3.52"), ("allocator_rss_bytes", "3407872"),
        ("rss_overhead_ratio", "1.52"), ("rss_overhead_bytes", "2424832"),
        ("mem_fragmentation_ratio", "%.2f" % frag), ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", "0"), ("mem_replication_backlog", "0"),
        ("mem_total_replication_buffers", "0"), ("mem_clients_slaves", "0"),
        ("mem_clients_normal", connected * 20496), ("mem_cluster_links", "0"),
        ("mem_aof_buffer", "0"), ("mem_allocator", "jemalloc-5.3.0"),
        ("active_defrag_running", "0"), ("lazyfree_pending_objects", "0"),
        ("lazyfreed_objects", "0"),
    ]
    out["persistence"] = [
        ("loading", "0"), ("async_loading", "0"), ("current_cow_peak", "0"),
        ("current_cow_size", "0"), ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", "0"), ("current_save_keys_total", "0"),
        ("rdb_changes_since_last_save", dirty), ("rdb_bgsave_in_progress", "0"),
        ("rdb_last_save_time", LAST_SAVE), ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", "0"), ("rdb_current_bgsave_time_sec", "-1"),
        ("rdb_saves", saves), ("rdb_last_cow_size", "217088"),
        ("rdb_last_load_keys_expired", "0"), ("rdb_last_load_keys_loaded", len(STORE.dbs[0])),
        ("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"), ("aof_rewrite_scheduled", "0"),
        ("aof_last_rewrite_time_sec", "-1"), ("aof_current_rewrite_time_sec", "-1"),
        ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", "0"),
        ("aof_rewrites_consecutive_failures", "0"), ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", "0"), ("module_fork_in_progress", "0"),
        ("module_fork_last_cow_size", "0"),
    ]
    out["stats"] = [
        ("total_connections_received", conns), ("total_commands_processed", cmds),
        ("instantaneous_ops_per_sec", "0"), ("total_net_input_bytes", net_in),
        ("total_net_output_bytes", net_out), ("total_net_repl_input_bytes", "0"),
        ("total_net_repl_output_bytes", "0"), ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"), ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"), ("rejected_connections", "0"),
        ("sync_full", "0"), ("sync_partial_ok", "0"), ("sync_partial_err", "0"),
        ("expired_keys", expired + up // 7200), ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", "0"), ("expire_cycle_cpu_milliseconds", up // 180),
        ("evicted_keys", "0"), ("evicted_clients", "0"), ("total_eviction_exceeded_time", "0"),
        ("current_eviction_exceeded_time", "0"), ("keyspace_hits", hits + cmds // 3),
        ("keyspace_misses", misses + cmds // 11), ("pubsub_channels", "0"),
        ("pubsub_patterns", "0"), ("pubsubshard_channels", "0"),
        ("latest_fork_usec", "412"), ("total_forks", forks),
        ("migrate_cached_sockets", "0"), ("slave_expires_tracked_keys", "0"),
        ("active_defrag_hits", "0"), ("active_defrag_misses", "0"),
        ("active_defrag_key_hits", "0"), ("active_defrag_key_misses", "0"),
        ("total_active_defrag_time", "0"), ("current_active_defrag_time", "0"),
        ("tracking_total_keys", "0"), ("tracking_total_items", "0"),
        ("tracking_total_prefixes", "0"), ("unexpected_error_replies", "0"),
        ("total_error_replies", errors), ("dump_payload_sanitizations", "0"),
        ("total_reads_processed", cmds + conns), ("total_writes_processed", cmds),
        ("io_threaded_reads_processed", "0"), ("io_threaded_writes_processed", "0"),
        ("reply_buffer_shrinks", conns // 2), ("reply_buffer_expands", conns // 9),
    ]
    out["replication"] = [
        ("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"),
        ("master_replid", REPL_ID), ("master_replid2", "0" * 40), ("master_repl_offset", "0"),
        ("second_repl_offset", "-1"), ("repl_backlog_active", "0"),
        ("repl_backlog_size", "1048576"), ("repl_backlog_first_byte_offset", "0"),
        ("repl_backlog_histlen", "0"),
    ]
    out["cpu"] = [
        ("used_cpu_sys", "%.6f" % (cpu * 0.55)), ("used_cpu_user", "%.6f" % (cpu * 0.45)),
        ("used_cpu_sys_children", "%.6f" % (saves * 0.0021)),
        ("used_cpu_user_children", "%.6f" % (saves * 0.0009)),
        ("used_cpu_sys_main_thread", "%.6f" % (cpu * 0.54)),
        ("used_cpu_user_main_thread", "%.6f" % (cpu * 0.44)),
    ]
    out["modules"] = []
    out["errorstats"] = [("errorstat_ERR", "count=%d" % errors)] if errors else []
    out["cluster"] = [("cluster_enabled", "0")]
    out["keyspace"] = [("db%d" % i, "keys=%d,expires=%d,avg_ttl=%d" % (n, e, 2591000000 if e else 0))
                       for i, n, e in keyspace]
    titles = {"server": "Server", "clients": "Clients", "memory": "Memory",
              "persistence": "Persistence", "stats": "Stats", "replication": "Replication",
              "cpu": "CPU", "modules": "Modules", "errorstats": "Errorstats",
              "cluster": "Cluster", "keyspace": "Keyspace"}
    default = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
               "modules", "errorstats", "cluster", "keyspace"]
    wanted = []
    for name in sections or ["default"]:
        name = name.lower()
        if name in ("default", "all", "everything"):
            wanted.extend(default)
        elif name in titles:
            wanted.append(name)
    seen, blocks = set(), []
    for name in wanted:
        if name in seen:
            continue
        seen.add(name)
        lines = ["# " + titles[name]] + ["%s:%s" % (k, v) for k, v in out[name]]
        blocks.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(blocks)


# --- the session ---------------------------------------------------------------------------
class Quit(Exception):
    pass


class RedisSession(Session):
    idle_timeout = 600  # "timeout 0" upstream; a decoy still reclaims dead sockets

    def setup(self):
        super().setup()
        self.db = 0
        self.name = b""
        self.created = time.time()
        self.last_cmd = "NULL"
        self.multi = None
        self.resp = 2
        try:
            self.local = self.request.getsockname()[:2]
        except OSError:
            self.local = ("0.0.0.0", PORT)
        with Stats.lock:
            Stats.connections += 1
            Stats.connected += 1
            Stats.next_client_id += 1
            self.client_id = Stats.next_client_id
            Stats.clients[self.client_id] = self

    def finish(self):
        with Stats.lock:
            Stats.connected -= 1
            Stats.clients.pop(self.client_id, None)
        super().finish()

    def run(self):
        while True:
            args = self.read_command()
            if args is None:
                return
            if not args:
                continue
            self.commands_seen = getattr(self, "commands_seen", 0) + 1
            try:
                reply = self.dispatch(args)
            except Quit:
                return
            if reply:
                self.reply(reply)

    def reply(self, data):
        with Stats.lock:
            Stats.net_out += len(data)
            if data[:1] == b"-":
                Stats.errors += 1
        self.send(data)

    def fail(self, text):
        """A protocol error: redis answers it and closes the connection."""
        self.log("command", command="protocol_error", error=text)
        self.reply(error("ERR Protocol error: " + text))
        self.reason = "protocol_error"
        return None

    # --- parsing ---------------------------------------------------------------------------
    def read_command(self):
        """A list of byte-string arguments, [] for an empty line, None to hang up."""
        line = self.read_line(MAX_INLINE)
        if line is None:
            self.reason = "client_closed"
            return None
        with Stats.lock:
            Stats.net_in += len(line) + 2
        if line[:1] != b"*":
            if len(line) >= MAX_INLINE:
                return self.fail("too big inline request")
            return self.split_inline(line)
        try:
            count = int(line[1:])
        except ValueError:
            return self.fail("invalid multibulk length")
        if count > MAX_ARGS:
            return self.fail("invalid multibulk length")
        if count <= 0:
            return []
        args, kept = [], 0
        for _ in range(count):
            head = self.read_line(MAX_INLINE)
            if head is None:
                self.reason = "client_closed"
                return None
            if head[:1] != b"$":
                return self.fail("expected '$', got '%s'" % _s(head[:1]))
            try:
                size = int(head[1:])
            except ValueError:
                return self.fail("invalid bulk length")
            if size < 0 or size > MAX_BULK:
                return self.fail("invalid bulk length")
            room = max(0, KEEP_BYTES - kept)
            if size <= room:
                data = self.recv_exact(size + 2)
                if data is None:
                    return None
                data = data[:-2]
            else:
                data = self.recv_discard(size + 2, room)
                if data is None:
                    self.reason = "client_closed"
                    return None
            kept += len(data)
            with Stats.lock:
                Stats.net_in += len(head) + 4 + size
            if len(args) < 4096:
                args.append(data)
        return args

    def recv_discard(self, n, keep):
        """Read n bytes, keep only the first `keep` of them."""
        kept = b""
        while n > 0:
            chunk = self.recv_some(min(65536, n))
            if not chunk:
                return None
            if len(kept) < keep:
                kept += chunk[:keep - len(kept)]
            n -= len(chunk)
        return kept

    def split_inline(self, line):
        """sdssplitargs(): whitespace separated, "double" (with escapes) and 'single' quotes."""
        args, i, n = [], 0, len(line)
        while True:
            while i < n and line[i:i + 1].isspace():
                i += 1
            if i >= n:
                return args
            cur = bytearray()
            inq = insq = False
            while True:
                if inq:
                    if i >= n:
                        return self.fail("unbalanced quotes in request")
                    c = line[i:i + 1]
                    if c == b"\\" and line[i + 1:i + 2] == b"x" and i + 3 < n and \
                            all(ch in b"0123456789abcdefABCDEF" for ch in line[i + 2:i + 4]):
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 3
                    elif c == b"\\" and i + 1 < n:
                        i += 1
                        cur += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b",
                                b"a": b"\a"}.get(line[i:i + 1], line[i:i + 1])
                    elif c == b'"':
                        if i + 1 < n and not line[i + 1:i + 2].isspace():
                            return self.fail("unbalanced quotes in request")
                        i += 1
                        break
                    else:
                        cur += c
                elif insq:
                    if i >= n:
                        return self.fail("unbalanced quotes in request")
                    c = line[i:i + 1]
                    if c == b"\\" and line[i + 1:i + 2] == b"'":
                        i += 1
                        cur += b"'"
                    elif c == b"'":
                        if i + 1 < n and not line[i + 1:i + 2].isspace():
                            return self.fail("unbalanced quotes in request")
                        i += 1
                        break
                    else:
                        cur += c
                else:
                    if i >= n:
                        break
                    c = line[i:i + 1]
                    if c.isspace():
                        break
                    if c == b'"':
                        inq = True
                    elif c == b"'":
                        insq = True
                    else:
                        cur += c
                i += 1
            args.append(bytes(cur))
            if len(args) > 4096:
                return args

    # --- commands --------------------------------------------------------------------------
    def dispatch(self, args, queued=False):
        name = _s(args[0]).lower()
        argv = args[1:]
        line = " ".join(show_arg(a) for a in args[:64]) + (" ..." if len(args) > 64 else "")
        raw = args[0]
        label = name.upper() if raw.isascii() and all(32 < c < 127 for c in raw) else name
        with Stats.lock:
            Stats.commands += 1
        self.last_cmd = name

        if name in ("host:", "post"):
            # redis drops connections that look like cross-protocol scripting
            self.log("command", command=label, line=clip(line), severity="warning",
                     msg="possible security attack (cross protocol scripting)")
            self.reason = "security_attack"
            raise Quit()
        if name == "auth" or (name == "hello" and any(_s(a).lower() == "auth" for a in argv)):
            return self.cmd_auth(name, argv)
        if not queued:
            sub = _s(argv[0]).lower() if argv else ""
            risky = name in RISKY or (name, sub) in RISKY_SUB
            self.log("command", severity="warning" if risky else "info", command=label, line=clip(line))

        if self.multi is not None and name not in ("exec", "discard", "multi", "quit", "reset"):
            if name not in COMMANDS:
                self.multi = "error"
                return self.unknown(name, argv)
            if self.multi != "error":
                self.multi.append(args)
            return simple("QUEUED")

        spec = COMMANDS.get(name)
        if spec is None:
            return self.unknown(name, argv)
        arity = spec[0]
        if (arity > 0 and len(args) != arity) or (arity < 0 and len(args) < -arity):
            return error(str(wrong_args(name)))
        handler = getattr(self, "cmd_" + name, None)
        try:
            if handler is not None:
                return handler(argv)
            return self.generic(name, argv)
        except Err as exc:
            return error(exc.text)

    def unknown(self, name, argv):
        shown = ""
        for a in argv:
            piece = "'%s' " % _s(a[:128])
            if len(shown) + len(piece) > 128:
                shown += piece[:128 - len(shown)]
                break
            shown += piece
        return error("ERR unknown command '%s', with args beginning with: %s" % (_s(_b(name)[:128]), shown))

    def cmd_auth(self, name, argv):
        user, password = "default", ""
        if name == "auth":
            if len(argv) == 1:
                password = _s(argv[0])
            elif len(argv) == 2:
                user, password = _s(argv[0]), _s(argv[1])
            else:
                self.log("command", command="AUTH", line="AUTH " + " ".join(show_arg(a) for a in argv[:16]))
                return error("ERR syntax error" if argv else str(wrong_args("auth")))
        else:
            lowered = [_s(a).lower() for a in argv]
            i = lowered.index("auth")
            if len(argv) > i + 2:
                user, password = _s(argv[i + 1]), _s(argv[i + 2])
            else:
                return error("ERR Syntax error in HELLO option 'auth'")
        self.log("auth", severity="notice", command=name.upper(), username=user, password=password)
        return error("WRONGPASS invalid username-password pair or user is disabled.")

    def generic(self, name, argv):
        return OK

    # connection
    def cmd_ping(self, argv):
        if len(argv) > 1:
            raise wrong_args("ping")
        return bulk(argv[0]) if argv else simple("PONG")

    def cmd_echo(self, argv):
        return bulk(argv[0])

    def cmd_quit(self, argv):
        self.reply(OK)
        self.reason = "quit"
        raise Quit()

    def cmd_reset(self, argv):
        self.db, self.multi, self.name = 0, None, b""
        return simple("RESET")

    def cmd_select(self, argv):
        try:
            idx = int(_s(argv[0]))
        except ValueError:
            raise Err("ERR value is not an integer or out of range")
        if not 0 <= idx < DATABASES:
            raise Err("ERR DB index is out of range")
        self.db = idx
        return OK

    def cmd_hello(self, argv):
        if argv:
            try:
                ver = int(_s(argv[0]))
            except ValueError:
                raise Err("ERR Protocol version is not an integer or out of range")
            if ver != 2:
                return error("NOPROTO unsupported protocol version")
        for i, a in enumerate(argv):
            if _s(a).lower() == "setname" and i + 1 < len(argv):
                self.name = argv[i + 1][:256]
        return array([b"server", b"redis", b"version", VERSION, b"proto", 2, b"id", self.client_id,
                      b"mode", b"standalone", b"role", b"master", b"modules", []])

    def cmd_multi(self, argv):
        if self.multi is not None:
            raise Err("ERR MULTI calls can not be nested")
        self.multi = []
        return OK

    def cmd_discard(self, argv):
        if self.multi is None:
            raise Err("ERR DISCARD without MULTI")
        self.multi = None
        return OK

    def cmd_exec(self, argv):
        if self.multi is None:
            raise Err("ERR EXEC without MULTI")
        queued, self.multi = self.multi, None
        if queued == "error":
            raise Err("EXECABORT Transaction discarded because of previous errors.")
        replies = []
        for args in queued:
            replies.append(self.dispatch(args, queued=True) or OK)
        return b"*%d\r\n" % len(replies) + b"".join(replies)

    # server
    def cmd_info(self, argv):
        return bulk(info_text([_s(a) for a in argv]))

    def cmd_time(self, argv):
        now = time.time()
        return array([str(int(now)), str(int((now % 1) * 1e6))])

    def cmd_lastsave(self, argv):
        return integer(LAST_SAVE)

    def cmd_dbsize(self, argv):
        with STORE.lock:
            return integer(len(STORE.keys(self.db)))

    def cmd_save(self, argv):
        global LAST_SAVE
        LAST_SAVE = int(time.time())
        STORE.dirty = 0
        return OK

    def cmd_bgsave(self, argv):
        global LAST_SAVE
        LAST_SAVE = int(time.time())
        STORE.dirty = 0
        return simple("Background saving started")

    def cmd_bgrewriteaof(self, argv):
        return simple("Background append only file rewriting started")

    def cmd_shutdown(self, argv):
        return error("ERR Errors trying to SHUTDOWN. Check logs.")

    def cmd_role(self, argv):
        return array([b"master", 0, []])

    def cmd_slaveof(self, argv):
        return self.cmd_replicaof(argv)

    def cmd_replicaof(self, argv):
        host, port = _s(argv[0]), _s(argv[1])
        if host.lower() == "no" and port.lower() == "one":
            with CONFIG_LOCK:
                CONFIG["replicaof"] = ""
            return OK
        try:
            int(port)
        except ValueError:
            raise Err("ERR value is not an integer or out of range")
        with CONFIG_LOCK:
            CONFIG["replicaof"] = clip("%s %s" % (host, port), 300)
        return OK

    def cmd_debug(self, argv):
        return error('ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
                     "you can run it from a local connection, otherwise you need to set this option "
                     "in the configuration file, and then restart the server.")

    def cmd_module(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "list":
            return array([])
        if sub in ("load", "loadex", "unload"):
            return error('ERR MODULE command not allowed. If the enable-module-command option is set to '
                         '"local", you can run it from a local connection, otherwise you need to set this '
                         "option in the configuration file, and then restart the server.")
        return error("ERR unknown subcommand '%s'. Try MODULE HELP." % _s(argv[0][:128]))

    def cmd_config(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "get":
            if len(argv) < 2:
                raise wrong_args("config|get")
            pairs = []
            with CONFIG_LOCK:
                for pat in argv[1:]:
                    pname = _s(pat).lower()
                    pname = CONFIG_ALIASES.get(pname, pname)
                    for key, value in CONFIG.items():
                        if glob(pname, key) and key not in pairs[::2]:
                            pairs += [key, value]
            return array(pairs)
        if sub == "set":
            if len(argv) < 3 or len(argv) % 2 == 0:
                raise wrong_args("config|set")
            with CONFIG_LOCK:
                refused = None
                for i in range(1, len(argv), 2):
                    key = _s(argv[i]).lower()
                    key = CONFIG_ALIASES.get(key, key)
                    if key not in CONFIG:
                        raise Err("ERR Unknown option or number of arguments for CONFIG SET - '%s'" % _s(argv[i][:128]))
                    if refused is None and key in IMMUTABLE:
                        refused = (argv[i], "can't set immutable config")
                    elif refused is None and key in PROTECTED and PROTECTED_CONFIGS == "no":
                        refused = (argv[i], "can't set protected config")
                if refused:
                    raise Err("ERR CONFIG SET failed (possibly related to argument '%s') - %s"
                              % (_s(refused[0][:128]), refused[1]))
                for i in range(1, len(argv), 2):
                    key = _s(argv[i]).lower()
                    CONFIG[CONFIG_ALIASES.get(key, key)] = clip(_s(argv[i + 1]), 1024)
            return OK
        if sub in ("resetstat", "rewrite"):
            return OK
        if sub == "help":
            return array([b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                          b"GET <pattern>", b"    Return parameters matching the glob-like <pattern> and their values.",
                          b"SET <directive> <value>", b"    Set the configuration <directive> to <value>.",
                          b"RESETSTAT", b"    Reset statistics reported by the INFO command.",
                          b"REWRITE", b"    Rewrite the configuration file.",
                          b"HELP", b"    Prints this help."])
        return error("ERR unknown subcommand '%s'. Try CONFIG HELP." % _s(argv[0][:128]))

    def client_line(self, s):
        age = int(time.time() - s.created)
        return ("id=%d addr=%s:%d laddr=%s:%d fd=%d name=%s age=%d idle=0 flags=N db=%d sub=0 psub=0 "
                "ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 "
                "oll=0 omem=0 tot-mem=22298 events=r cmd=%s user=default redir=-1 resp=2"
                % (s.client_id, s.src_ip, s.src_port, s.local[0], s.local[1], 8 + s.client_id % 50,
                   _s(s.name), age, s.db, s.last_cmd if s is not self else "client|list"))

    def cmd_client(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "list":
            with Stats.lock:
                sessions = list(Stats.clients.values())
            return bulk("".join(self.client_line(s) + "\n" for s in sessions[:100]))
        if sub == "info":
            return bulk(self.client_line(self).replace("cmd=client|list", "cmd=client|info") + "\n")
        if sub == "id":
            return integer(self.client_id)
        if sub == "getname":
            return bulk(self.name or None)
        if sub == "setname":
            if len(argv) != 2:
                raise wrong_args("client|setname")
            if any(c <= 32 or c > 126 for c in argv[1]):
                raise Err("ERR Client names cannot contain spaces, newlines or special characters.")
            self.name = argv[1][:256]
            return OK
        if sub == "kill":
            return error("ERR No such client")
        if sub in ("no-evict", "no-touch", "reply", "setinfo", "tracking", "caching", "pause", "unpause"):
            return OK
        if sub == "help":
            return array([b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                          b"ID", b"    Return the ID of the current connection.",
                          b"INFO", b"    Return information about the current client connection.",
                          b"LIST [options ...]", b"    Return information about client connections.",
                          b"SETNAME <name>", b"    Assign the name <name> to the current connection.",
                          b"GETNAME", b"    Return the name of the current connection.",
                          b"HELP", b"    Prints this help."])
        return error("ERR unknown subcommand '%s'. Try CLIENT HELP." % _s(argv[0][:128]))

    @staticmethod
    def command_entry(name):
        arity, flags, first, last, step = COMMANDS[name]
        return [name, arity, [Raw(simple(f)) for f in flags], first, last, step, [], [], []]

    def cmd_command(self, argv):
        if not argv:
            return array([self.command_entry(n) for n in sorted(COMMANDS)])
        sub = _s(argv[0]).lower()
        if sub == "count":
            return integer(COMMAND_COUNT)
        if sub == "docs":
            return array([])
        if sub == "info":
            return array([self.command_entry(_s(a).lower()) if _s(a).lower() in COMMANDS else None
                          for a in argv[1:64]])
        if sub == "list":
            return array(sorted(COMMANDS))
        if sub == "getkeys":
            raise Err("ERR Invalid arguments specified for command")
        return error("ERR unknown subcommand '%s'. Try COMMAND HELP." % _s(argv[0][:128]))

    def cmd_acl(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "whoami":
            return bulk("default")
        if sub == "users":
            return array([b"default"])
        if sub == "list":
            return array([b"user default on nopass sanitize-payload ~* &* +@all"])
        if sub == "cat":
            return array([b"keyspace", b"read", b"write", b"set", b"sortedset", b"list", b"hash",
                          b"string", b"bitmap", b"hyperloglog", b"geo", b"stream", b"pubsub",
                          b"admin", b"fast", b"slow", b"blocking", b"dangerous", b"connection",
                          b"transaction", b"scripting"])
        if sub in ("setuser", "deluser", "save", "load"):
            return OK if sub != "deluser" else integer(0)
        return error("ERR unknown subcommand '%s'. Try ACL HELP." % _s(argv[0][:128]))

    def cmd_slowlog(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "get":
            return array([])
        if sub == "len":
            return integer(0)
        return OK

    def cmd_memory(self, argv):
        if _s(argv[0]).lower() == "usage" and len(argv) > 1:
            with STORE.lock:
                value = STORE.get(self.db, argv[1])
            return integer(Store.size_of(value) + 56) if value is not None else bulk(None)
        return OK

    def cmd_script(self, argv):
        sub = _s(argv[0]).lower()
        if sub == "load" and len(argv) > 1:
            return bulk(hashlib.sha1(argv[1]).hexdigest())
        if sub == "exists":
            return array([0] * (len(argv) - 1))
        return OK

    def cmd_eval(self, argv):
        to_int(argv[1])
        return bulk(None)

    def cmd_evalsha(self, argv):
        return error("NOSCRIPT No matching script. Please use EVAL.")

    def cmd_monitor(self, argv):
        return OK

    def cmd_subscribe(self, argv):
        return b"".join(array([b"subscribe", c, i + 1]) for i, c in enumerate(argv[:1024]))

    def cmd_psubscribe(self, argv):
        return b"".join(array([b"psubscribe", c, i + 1]) for i, c in enumerate(argv[:1024]))

    def cmd_publish(self, argv):
        return integer(0)

    def cmd_sync(self, argv):
        self.reason = "sync_refused"
        raise Quit()

    def cmd_psync(self, argv):
        return self.cmd_sync(argv)

    def cmd_wait(self, argv):
        return integer(0)

    def cmd_object(self, argv):
        sub = _s(argv[0]).lower()
        if len(argv) < 2:
            raise wrong_args("object|" + sub)
        with STORE.lock:
            value = STORE.get(self.db, argv[1])
        if value is None:
            return bulk(None)
        if sub == "encoding":
            if isinstance(value, bytes):
                return bulk("int" if value.isdigit() and len(value) < 20 else "embstr" if len(value) <= 44 else "raw")
            return bulk("listpack" if not isinstance(value, set) else "hashtable")
        if sub in ("idletime", "freq"):
            return integer(_rng.randint(0, 3600))
        if sub == "refcount":
            return integer(1)
        return error("ERR unknown subcommand '%s'. Try OBJECT HELP." % _s(argv[0][:128]))

    def cmd_lolwut(self, argv):
        return bulk("Redis ver. %s\n" % VERSION)

    # keyspace
    def typed(self, key, kind):
        value = STORE.get(self.db, key)
        if value is not None and not isinstance(value, kind):
            raise Err("WRONGTYPE Operation against a key holding the wrong kind of value")
        return value

    def cmd_get(self, argv):
        with STORE.lock:
            return bulk(self.typed(argv[0], bytes))

    def cmd_getdel(self, argv):
        with STORE.lock:
            value = self.typed(argv[0], bytes)
            STORE.delete(self.db, argv[0])
        return bulk(value)

    def cmd_set(self, argv):
        key, value, opts = argv[0], argv[1], [_s(a).lower() for a in argv[2:]]
        nx, xx, get, ttl = "nx" in opts, "xx" in opts, "get" in opts, None
        i = 0
        while i < len(opts):
            if opts[i] in ("ex", "px", "exat", "pxat"):
                if i + 1 >= len(opts):
                    raise Err("ERR syntax error")
                n = to_int(argv[3 + i])
                if n <= 0:
                    raise Err("ERR invalid expire time in 'set' command")
                ttl = {"ex": time.time() + n, "px": time.time() + n / 1000.0, "exat": n, "pxat": n / 1000.0}[opts[i]]
                i += 2
                continue
            if opts[i] not in ("nx", "xx", "get", "keepttl"):
                raise Err("ERR syntax error")
            i += 1
        if nx and xx:
            raise Err("ERR syntax error")
        with STORE.lock:
            old = STORE.get(self.db, key)
            if get and old is not None and not isinstance(old, bytes):
                raise Err("WRONGTYPE Operation against a key holding the wrong kind of value")
            if (nx and old is not None) or (xx and old is None):
                return bulk(old) if get else bulk(None)
            STORE.put(self.db, key, value)
            if ttl is not None:
                STORE.expires[self.db][key] = ttl
            elif "keepttl" not in opts:
                STORE.expires[self.db].pop(key, None)
        return bulk(old) if get else OK

    def cmd_setnx(self, argv):
        with STORE.lock:
            if STORE.get(self.db, argv[0]) is not None:
                return integer(0)
            STORE.put(self.db, argv[0], argv[1])
        return integer(1)

    def cmd_setex(self, argv):
        n = to_int(argv[1])
        if n <= 0:
            raise Err("ERR invalid expire time in 'setex' command")
        with STORE.lock:
            STORE.put(self.db, argv[0], argv[2])
            STORE.expires[self.db][argv[0]] = time.time() + n
        return OK

    def cmd_getset(self, argv):
        with STORE.lock:
            old = self.typed(argv[0], bytes)
            STORE.put(self.db, argv[0], argv[1])
            STORE.expires[self.db].pop(argv[0], None)
        return bulk(old)

    def cmd_mget(self, argv):
        with STORE.lock:
            values = [STORE.get(self.db, k) for k in argv]
        return array([v if isinstance(v, bytes) else None for v in values])

    def cmd_mset(self, argv):
        if len(argv) % 2:
            raise wrong_args("mset")
        with STORE.lock:
            for i in range(0, len(argv), 2):
                STORE.put(self.db, argv[i], argv[i + 1])
        return OK

    def cmd_append(self, argv):
        with STORE.lock:
            value = (self.typed(argv[0], bytes) or b"") + argv[1]
            STORE.put(self.db, argv[0], value)
        return integer(len(value))

    def cmd_strlen(self, argv):
        with STORE.lock:
            return integer(len(self.typed(argv[0], bytes) or b""))

    def _incr(self, key, delta):
        with STORE.lock:
            value = self.typed(key, bytes)
            try:
                n = int(value or b"0")
            except ValueError:
                raise Err("ERR value is not an integer or out of range")
            n += delta
            STORE.put(self.db, key, str(n).encode())
        return integer(n)

    def cmd_incr(self, argv):
        return self._incr(argv[0], 1)

    def cmd_decr(self, argv):
        return self._incr(argv[0], -1)

    def cmd_incrby(self, argv):
        return self._incr(argv[0], to_int(argv[1]))

    def cmd_decrby(self, argv):
        return self._incr(argv[0], -to_int(argv[1]))

    def cmd_del(self, argv):
        with STORE.lock:
            return integer(sum(1 for k in argv if STORE.get(self.db, k) is not None and STORE.delete(self.db, k)))

    cmd_unlink = cmd_del

    def cmd_exists(self, argv):
        with STORE.lock:
            return integer(sum(1 for k in argv if STORE.get(self.db, k) is not None))

    def cmd_type(self, argv):
        with STORE.lock:
            value = STORE.get(self.db, argv[0])
        kind = {bytes: "string", list: "list", dict: "hash", set: "set"}.get(type(value), "none")
        return simple(kind)

    def _ttl(self, key, scale):
        with STORE.lock:
            if STORE.get(self.db, key) is None:
                return integer(-2)
            exp = STORE.expires[self.db].get(key)
        if exp is None:
            return integer(-1)
        return integer(max(0, int(round((exp - time.time()) * scale))))

    def cmd_ttl(self, argv):
        return self._ttl(argv[0], 1)

    def cmd_pttl(self, argv):
        return self._ttl(argv[0], 1000)

    def _expire(self, key, seconds):
        with STORE.lock:
            if STORE.get(self.db, key) is None:
                return integer(0)
            if seconds <= 0:
                STORE.delete(self.db, key)
            else:
                STORE.expires[self.db][key] = time.time() + seconds
        return integer(1)

    def cmd_expire(self, argv):
        return self._expire(argv[0], to_int(argv[1]))

    def cmd_pexpire(self, argv):
        return self._expire(argv[0], to_int(argv[1]) / 1000.0)

    def cmd_persist(self, argv):
        with STORE.lock:
            if STORE.get(self.db, argv[0]) is None:
                return integer(0)
            return integer(1 if STORE.expires[self.db].pop(argv[0], None) is not None else 0)

    def cmd_rename(self, argv):
        with STORE.lock:
            value = STORE.get(self.db, argv[0])
            if value is None:
                raise Err("ERR no such key")
            exp = STORE.expires[self.db].get(argv[0])
            STORE.delete(self.db, argv[0])
            STORE.delete(self.db, argv[1])
            STORE.put(self.db, argv[1], value)
            if exp is not None:
                STORE.expires[self.db][argv[1]] = exp
        return OK

    def cmd_move(self, argv):
        target = to_int(argv[1])
        if not 0 <= target < DATABASES:
            raise Err("ERR index out of range")
        with STORE.lock:
            value = STORE.get(self.db, argv[0])
            if value is None or STORE.get(target, argv[0]) is not None or target == self.db:
                return integer(0)
            STORE.delete(self.db, argv[0])
            STORE.put(target, argv[0], value)
        return integer(1)

    def cmd_swapdb(self, argv):
        return OK

    def cmd_keys(self, argv):
        with STORE.lock:
            keys = STORE.keys(self.db)
        return array([k for k in keys if glob(argv[0], k)])

    def cmd_scan(self, argv):
        to_int(argv[0])
        pattern, opts, i = b"*", [_s(a).lower() for a in argv], 1
        while i < len(opts):
            if opts[i] in ("match", "count", "type") and i + 1 < len(opts):
                if opts[i] == "match":
                    pattern = argv[i + 1]
                elif opts[i] == "count":
                    if to_int(argv[i + 1]) < 1:
                        raise Err("ERR syntax error")
                i += 2
            else:
                raise Err("ERR syntax error")
        with STORE.lock:
            keys = STORE.keys(self.db)
        return array([b"0", [k for k in keys if glob(pattern, k)]])

    def cmd_randomkey(self, argv):
        with STORE.lock:
            keys = STORE.keys(self.db)
        return bulk(_rng.choice(keys) if keys else None)

    def cmd_flushdb(self, argv):
        with STORE.lock:
            STORE.flush(self.db)
        return OK

    def cmd_flushall(self, argv):
        with STORE.lock:
            STORE.flush()
        return OK

    # lists / hashes / sets (small, bounded)
    def _push(self, argv, left):
        with STORE.lock:
            value = list(self.typed(argv[0], list) or [])
            for item in argv[1:]:
                if len(value) >= MAX_ITEMS:
                    raise Err("OOM command not allowed when used memory > 'maxmemory'.")
                value.insert(0, item) if left else value.append(item)
            STORE.put(self.db, argv[0], value)
        return integer(len(value))

    def cmd_lpush(self, argv):
        return self._push(argv, True)

    def cmd_rpush(self, argv):
        return self._push(argv, False)

    def _pop(self, argv, left):
        with STORE.lock:
            value = self.typed(argv[0], list)
            if not value:
                return bulk(None)
            value = list(value)
            item = value.pop(0 if left else -1)
            if value:
                STORE.put(self.db, argv[0], value)
            else:
                STORE.delete(self.db, argv[0])
        return bulk(item)

    def cmd_lpop(self, argv):
        return self._pop(argv, True)

    def cmd_rpop(self, argv):
        return self._pop(argv, False)

    def cmd_llen(self, argv):
        with STORE.lock:
            return integer(len(self.typed(argv[0], list) or []))

    def cmd_lrange(self, argv):
        start, stop = to_int(argv[1]), to_int(argv[2])
        with STORE.lock:
            value = self.typed(argv[0], list) or []
        n = len(value)
        start = max(0, start + n if start < 0 else start)
        stop = stop + n if stop < 0 else min(stop, n - 1)
        return array(value[start:stop + 1] if start <= stop else [])

    def cmd_lindex(self, argv):
        idx = to_int(argv[1])
        with STORE.lock:
            value = self.typed(argv[0], list) or []
        return bulk(value[idx] if -len(value) <= idx < len(value) else None)

    def cmd_hset(self, argv):
        if len(argv) % 2 == 0:
            raise wrong_args("hset")
        with STORE.lock:
            value = dict(self.typed(argv[0], dict) or {})
            added = 0
            for i in range(1, len(argv), 2):
                if argv[i] not in value:
                    added += 1
                    if len(value) >= MAX_ITEMS:
                        raise Err("OOM command not allowed when used memory > 'maxmemory'.")
                value[argv[i]] = argv[i + 1]
            STORE.put(self.db, argv[0], value)
        return integer(added)

    def cmd_hmset(self, argv):
        if len(argv) % 2 == 0:
            raise wrong_args("hmset")
        self.cmd_hset(argv)
        return OK

    def cmd_hsetnx(self, argv):
        with STORE.lock:
            value = dict(self.typed(argv[0], dict) or {})
            if argv[1] in value:
                return integer(0)
        self.cmd_hset(argv)
        return integer(1)

    def cmd_hget(self, argv):
        with STORE.lock:
            return bulk((self.typed(argv[0], dict) or {}).get(argv[1]))

    def cmd_hmget(self, argv):
        with STORE.lock:
            value = self.typed(argv[0], dict) or {}
        return array([value.get(f) for f in argv[1:]])

    def cmd_hgetall(self, argv):
        with STORE.lock:
            value = self.typed(argv[0], dict) or {}
        return array([x for kv in value.items() for x in kv])

    def cmd_hkeys(self, argv):
        with STORE.lock:
            return array(list(self.typed(argv[0], dict) or {}))

    def cmd_hvals(self, argv):
        with STORE.lock:
            return array(list((self.typed(argv[0], dict) or {}).values()))

    def cmd_hlen(self, argv):
        with STORE.lock:
            return integer(len(self.typed(argv[0], dict) or {}))

    def cmd_hexists(self, argv):
        with STORE.lock:
            return integer(1 if argv[1] in (self.typed(argv[0], dict) or {}) else 0)

    def cmd_hdel(self, argv):
        with STORE.lock:
            value = dict(self.typed(argv[0], dict) or {})
            n = sum(1 for f in argv[1:] if value.pop(f, None) is not None)
            if value:
                STORE.put(self.db, argv[0], value)
            elif n:
                STORE.delete(self.db, argv[0])
        return integer(n)

    def cmd_sadd(self, argv):
        with STORE.lock:
            value = set(self.typed(argv[0], set) or set())
            before = len(value)
            for m in argv[1:]:
                if len(value) >= MAX_ITEMS:
                    raise Err("OOM command not allowed when used memory > 'maxmemory'.")
                value.add(m)
            STORE.put(self.db, argv[0], value)
        return integer(len(value) - before)

    def cmd_srem(self, argv):
        with STORE.lock:
            value = set(self.typed(argv[0], set) or set())
            n = sum(1 for m in argv[1:] if m in value and not value.discard(m))
            if value:
                STORE.put(self.db, argv[0], value)
            elif n:
                STORE.delete(self.db, argv[0])
        return integer(n)

    def cmd_smembers(self, argv):
        with STORE.lock:
            return array(sorted(self.typed(argv[0], set) or set()))

    def cmd_scard(self, argv):
        with STORE.lock:
            return integer(len(self.typed(argv[0], set) or set()))

    def cmd_sismember(self, argv):
        with STORE.lock:
            return integer(1 if argv[1] in (self.typed(argv[0], set) or set()) else 0)


if __name__ == "__main__":
    serve(RedisSession, PORT)
