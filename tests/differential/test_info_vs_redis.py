"""INFO on redis-server 7.0.15 and respd: the same sections in the same order for every way of asking, the same
fields in each section in Redis' order, and the same values wherever the value is not about the process itself
(memory, CPU, clocks, ids, counters of other tests' traffic). commandstats and errorstats are compared line by line
after the same commands ran on both servers from CONFIG RESETSTAT."""
from __future__ import annotations

import re

import pytest

from tests.helpers import RawClient, encode_command

#: fields respd adds at the end of a section, and the section respd adds after Keyspace for INFO everything
RESPD_FIELDS = {"server": ["respd_version", "python_version"],
                "stats": ["auth_failures", "acl_access_denied_auth", "acl_access_denied_cmd", "acl_access_denied_key",
                          "acl_access_denied_channel",
                          "protocol_errors"]}
RESPD_SECTIONS = {"everything": ["Stores"]}

#: values that legitimately differ between two processes (or are counters of the traffic each server has seen)
PROCESS_VALUES = {
    "process_id", "run_id", "tcp_port", "server_time_usec", "uptime_in_seconds", "uptime_in_days", "lru_clock",
    "executable", "config_file", "redis_build_id", "atomicvar_api", "gcc_version", "connected_clients",
    "total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec", "total_net_input_bytes",
    "total_net_output_bytes", "total_reads_processed", "total_writes_processed", "total_error_replies",
    "rdb_last_save_time", "master_replid", "expired_keys", "keyspace_hits", "keyspace_misses", "maxclients",
    "instantaneous_input_kbps", "instantaneous_output_kbps", "mem_allocator", "mem_clients_normal",
    "client_recent_max_input_buffer", "client_recent_max_output_buffer", "reply_buffer_expands",
    "reply_buffer_shrinks", "expired_stale_perc", "expire_cycle_cpu_milliseconds", "rdb_changes_since_last_save",
}
PROCESS_SECTIONS = {"Memory", "CPU", "Keyspace", "Commandstats", "Errorstats"}  # values compared elsewhere or not


@pytest.fixture(autouse=True)
def redis_without_latency_tracking(redis):
    """respd keeps no latency histograms: it is a Redis with latency-tracking off (CONFIG GET says "no")."""
    with RawClient(redis.port) as c:
        assert c.call("CONFIG", "SET", "latency-tracking", "no") == b"+OK\r\n"
    yield
    with RawClient(redis.port) as c:
        c.call("CONFIG", "SET", "latency-tracking", "yes")


def info(port: int, *sections: str) -> list:
    """[(title, [(field, value)...])...] of an INFO reply."""
    with RawClient(port) as c:
        reply = c.call("INFO", *sections)
    head, _, body = reply.partition(b"\r\n")
    assert head == b"$%d" % (len(body) - 2) and body.endswith(b"\r\n")
    text = body[:-2].decode()
    assert text == "" or text.endswith("\r\n")
    text = text[:-2]
    out = []
    for block in text.split("\r\n\r\n") if text else []:
        lines = block.split("\r\n")
        assert lines[0].startswith("# "), block
        out.append((lines[0][2:], [tuple(line.split(":", 1)) for line in lines[1:]]))
    return out


ASKS = [(), ("default",), ("all",), ("everything",), ("server",), ("server", "clients"), ("clients", "server"),
        ("SERVER",), ("errorstats",), ("commandstats",), ("latencystats",), ("modules",), ("module_list",),
        ("cluster",), ("keyspace",), ("keyspace", "server"), ("bogus",), ("bogus", "server"), ("all", "bogus"),
        ("default", "commandstats"), ("all", "commandstats"), ("ALL",), ("Default", "Keyspace"),
        ("stats", "memory", "persistence", "replication", "cpu"), ("server", "server")]


@pytest.mark.parametrize("ask", ASKS, ids=lambda a: "-".join(a) or "none")
def test_info_sections_and_fields_as_redis(redis, respd, ask):
    want, got = info(redis.port, *ask), info(respd.port, *ask)
    extra = RESPD_SECTIONS.get(ask[0].lower(), []) if ask else []
    assert [t for t, _ in got] == [t for t, _ in want] + extra
    for (title, wfields), (_, gfields) in zip(want, got):
        if title in ("Keyspace", "Commandstats", "Errorstats"):
            continue  # depend on the data and traffic: see the tests below
        names = [f for f, _ in wfields] + RESPD_FIELDS.get(title.lower(), [])
        assert [f for f, _ in gfields] == names, title
        if title in PROCESS_SECTIONS:
            continue
        wv = dict(wfields)
        differ = {f: (wv[f], v) for f, v in gfields if f in wv and f not in PROCESS_VALUES and wv[f] != v}
        assert not differ, (title, differ)


def test_info_values_clients_read(redis, respd):
    """The fields client libraries and tools branch on."""
    for port in (redis.port, respd.port):
        fields = {f: v for _, section in info(port, "everything") for f, v in section}
        assert fields["redis_version"] == "7.0.15"
        assert fields["redis_mode"] == "standalone"
        assert fields["maxmemory_policy"] == "noeviction"
        assert fields["migrate_cached_sockets"] == "0"
        assert fields["connected_slaves"] == "0"
        assert fields["role"] == "master"
        assert fields["aof_enabled"] == "0"
        assert fields["rdb_bgsave_in_progress"] == "0"
        assert fields["rdb_last_bgsave_status"] == "ok"
        assert fields["cluster_enabled"] == "0"
        assert fields["loading"] == "0"
        for f in ("used_memory_human", "used_memory_rss_human", "maxmemory_human", "total_system_memory_human"):
            assert re.fullmatch(r"\d+B|\d+\.\d\d[KMGTP]", fields[f]), (f, fields[f])


def _run_both(redis, respd, commands):
    for port in (redis.port, respd.port):
        with RawClient(port) as c:
            c.send(b"".join(encode_command(*cmd.split()) for cmd in commands))
            c.read_replies(len(commands))


TRAFFIC = ["FLUSHALL", "CONFIG RESETSTAT", "SET a 1", "GET a", "GET", "INCR a", "SET b x", "INCR b", "GET b",
           "nosuch x", "CLIENT", "CLIENT nosuch", "CLIENT ID", "MULTI", "GET a", "SET a", "EXEC", "MULTI", "INCR b",
           "GET a", "EXEC", "EXEC", "DISCARD", "MGET a b c", "SET c 1 EX 100", "DEL c", "TTL a", "SELECT 99",
           "SELECT 3", "SET z 1", "SET y 2 PX 100000", "SELECT 0", "COMMAND COUNT", "ECHO", "PING",
           # rows of identical data commands (counted per row on respd's direct path), then a mixed row
           "GET a", "GET a", "GET a", "SET b 2", "SET b 3", "INCR b", "INCR b", "GET nosuch", "STRLEN a", "GET a"]


def test_commandstats_and_errorstats_as_redis(redis, respd):
    _run_both(redis, respd, TRAFFIC)
    want, got = dict(info(redis.port, "commandstats", "errorstats")), dict(info(respd.port, "commandstats",
                                                                                "errorstats"))
    assert got["Errorstats"] == want["Errorstats"]

    def calls(section):  # time fields differ by nature; usec_per_call must be usec / calls
        out = {}
        for name, value in section:
            fields = dict(kv.split("=") for kv in value.split(","))
            usec, calls = int(fields.pop("usec")), int(fields["calls"])
            assert float(fields.pop("usec_per_call")) == pytest.approx(usec / calls if calls else 0, abs=0.01)
            out[name] = fields
        return out

    assert calls(got["Commandstats"]) == calls(want["Commandstats"])
    # and the global error count agrees with the per-code counts
    stats = dict(info(respd.port, "stats")[0][1])
    assert int(stats["total_error_replies"]) == sum(int(v.split("=")[1]) for _, v in got["Errorstats"])


def test_keyspace_lines_as_redis(redis, respd):
    _run_both(redis, respd, TRAFFIC)
    norm = [(f, re.sub(r"avg_ttl=\d+", "avg_ttl=N", v)) for f, v in info(redis.port, "keyspace")[0][1]]
    got = [(f, re.sub(r"avg_ttl=\d+", "avg_ttl=N", v)) for f, v in info(respd.port, "keyspace")[0][1]]
    assert got == norm == [("db0", "keys=2,expires=0,avg_ttl=N"), ("db3", "keys=2,expires=1,avg_ttl=N")]
