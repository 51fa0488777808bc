#!/usr/bin/env python3
"""Command line and configuration: -V, -t on good and bad files (exit
codes, one "FILE:LINE: message" per error), a bad file at startup, the
shipped sample, several listeners, a custom xmlrpc_path and JSON logs."""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG, PINGBACKD  # noqa: E402
from origin import link_page, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_config")
tmp = harness.mktmp("config")


def check(sections, name):
    path = os.path.join(tmp, name + ".conf")
    where = harness.write_config(path, sections)
    rc, out, err = harness.run_cmd([PINGBACKD, "-t", "-c", path])
    return path, where, rc, out, err


def err_lines(path, err):
    pat = re.compile(r"^%s:(\d+): (.+)$" % re.escape(path))
    return [(int(m.group(1)), m.group(2)) for m in
            (pat.match(l) for l in err.splitlines()) if m]


def test_version():
    rc, out, err = harness.run_cmd([PINGBACKD, "-V"])
    t.eq(rc, 0, "-V exits 0")
    t.ok(re.match(r"^pingbackd \S+", out), "-V prints 'pingbackd VERSION'",
         "stdout %r stderr %r" % (out, err))


def test_good():
    path, where, rc, out, err = check(harness.base_config(tmp), "good")
    t.eq(rc, 0, "-t on a good file exits 0")
    t.ok("configuration OK" in out + err, "-t says 'configuration OK'",
         "stdout %r stderr %r" % (out, err))
    sample = os.path.join(harness.SRCDIR, "conf", "pingbackd.conf")
    if os.path.exists(sample) and os.path.getsize(sample) > 0:
        rc, out, err = harness.run_cmd([PINGBACKD, "-t", "-c", sample])
        t.ok(rc == 0 and "configuration OK" in out + err,
             "-t accepts the shipped conf/pingbackd.conf",
             "rc %r stdout %r stderr %r" % (rc, out, err))
    else:
        t.skip("-t accepts the shipped conf/pingbackd.conf", "no sample yet")
    minimal = {"targets": {"allow": BLOG},
               "store": {"path": os.path.join(tmp, "m.sqlite")}}
    path, where, rc, out, err = check(minimal, "minimal")
    t.ok(rc == 0, "-t accepts a file with only targets.allow and store.path",
         "rc %r stderr %r" % (rc, err))


BAD = [
    ("unknown key", "server", "listne", "127.0.0.1:0"),
    ("unknown key in [fetch]", "fetch", "max_bytez", "4096"),
    ("max_body under 512", "server", "max_body", "100"),
    ("max_body not a number", "server", "max_body", "lots"),
    ("max_body with trailing junk", "server", "max_body", "1024x"),
    ("fetch.timeout = 0", "fetch", "timeout", "0"),
    ("fetch.timeout = 301", "fetch", "timeout", "301"),
    ("fetch.max_bytes under 1024", "fetch", "max_bytes", "100"),
    ("allow_networks prefix /33", "fetch", "allow_networks", "10.0.0.0/33"),
    ("allow_networks not a CIDR", "fetch", "allow_networks", "localhost"),
    ("store.default_status = spam", "store", "default_status", "spam"),
    ("log.level unknown", "log", "level", "chatty"),
    ("log.format unknown", "log", "format", "xml"),
    ("require_existing not a boolean", "targets", "require_existing",
     "maybe"),
    ("targets.allow not a URL", "targets", "allow", "blog.example.com"),
    ("listen without a port", "server", "listen", "127.0.0.1"),
    ("listen port out of range", "server", "listen", "127.0.0.1:99999"),
    ("xmlrpc_path not absolute", "server", "xmlrpc_path", "xmlrpc"),
    ("client_rate negative", "limits", "client_rate", "-1"),
    ("client_burst negative", "limits", "client_burst", "-5"),
]


def test_bad():
    for i, (desc, sec, key, val) in enumerate(BAD):
        conf = harness.base_config(tmp, **{sec: {key: val}})
        path, where, rc, out, err = check(conf, "bad%d" % i)
        lines = err_lines(path, err)
        want = where[(sec, key)]
        t.ok(rc == 1 and any(n == want for n, _ in lines),
             "-t: %s -> exit 1 and '%s:%d: ...'" % (desc, "FILE", want),
             "rc %r, stderr %r" % (rc, err))
    conf = harness.base_config(tmp, server={"bogus": "1"}, log={"level": "x"})
    path, where, rc, out, err = check(conf, "bad-two")
    lines = [n for n, _ in err_lines(path, err)]
    t.ok(rc == 1 and where[("server", "bogus")] in lines
         and where[("log", "level")] in lines,
         "-t: two errors -> both reported with their lines",
         "stderr %r" % err)
    conf = harness.base_config(tmp)
    conf["nonsense"] = {"key": "value"}
    path, where, rc, out, err = check(conf, "bad-section")
    t.ok(rc == 1 and err_lines(path, err),
         "-t: unknown section -> exit 1 with FILE:LINE", "stderr %r" % err)
    conf = harness.base_config(tmp)
    del conf["targets"]["allow"]
    path, where, rc, out, err = check(conf, "no-allow")
    t.ok(rc == 1 and "allow" in err, "-t: missing targets.allow -> exit 1, "
         "the message names it", "rc %r stderr %r" % (rc, err))
    path = os.path.join(tmp, "garbage.conf")
    with open(path, "w") as f:
        f.write("[server]\nthis line has no equals sign\n")
    rc, out, err = harness.run_cmd([PINGBACKD, "-t", "-c", path])
    t.ok(rc == 1 and any(n == 2 for n, _ in err_lines(path, err)),
         "-t: syntax error -> '%s:2: ...'" % "FILE", "stderr %r" % err)
    missing = os.path.join(tmp, "does-not-exist.conf")
    rc, out, err = harness.run_cmd([PINGBACKD, "-t", "-c", missing])
    t.ok(rc == 1 and missing in err, "-t: missing file -> exit 1, names it",
         "rc %r stderr %r" % (rc, err))
    rc, out, err = harness.run_cmd([PINGBACKD, "-x"])
    t.ok(rc != 0 and err.strip(), "unknown option: non-zero exit, usage",
         "rc %r stderr %r" % (rc, err))


def test_start_bad():
    conf = harness.base_config(tmp, fetch={"tiemout": "3"})
    d = harness.Daemon(tmp, conf, name="startbad")
    d.start(wait=False)
    rc = d.wait_exit(15)
    d.check_exit = False
    want = "%s:%d:" % (d.conf_path, d.where[("fetch", "tiemout")])
    t.eq(rc, 1, "starting with an unknown key exits 1")
    t.ok(any(l.raw.startswith(want) for l in d.lines),
         "startup error says '%sLINE: ...'" % "FILE:",
         *[l.raw for l in d.lines[:10]])
    t.ok(not d.find("ready"), "no event=ready for a bad file")


def test_two_listeners_and_path():
    o = Origin(harness.ORIGIN_HOST)
    conf = harness.base_config(tmp, server={
        "listen": "127.0.0.1:0 127.0.0.4:0", "xmlrpc_path": "/rpc/ping"})
    conf["store"]["path"] = os.path.join(tmp, "two.sqlite")
    d = harness.Daemon(tmp, conf, name="two")
    d.start()
    t.eq(len(d.addrs), 2, "space-separated listen: two listening lines")
    t.ok(len(set(d.addrs)) == len(d.addrs), "listeners have distinct ports",
         "%r" % d.addrs)
    for i in range(len(d.addrs)):
        tg = BLOG + "post-two-%d" % i
        src = o.page("/src/two-%d" % i, link_page(tg))
        r = d.ping(src, tg, i=i)
        t.ok(r.ok, "ping through listener %d on /rpc/ping" % i,
             "got %r" % (r,))
    st, hdrs, body = d.http("POST", "/xmlrpc",
                            harness.method_call("system.listMethods"))
    t.eq(st, 404, "with xmlrpc_path=/rpc/ping, /xmlrpc is 404")
    t.check_daemon(d)


def test_startup_failures():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    busy = "127.0.0.1:%d" % ls.getsockname()[1]
    try:
        conf = harness.base_config(tmp, server={"listen": busy})
        d = harness.Daemon(tmp, conf, name="busy")
        d.start(wait=False)
        rc = d.wait_exit(10)
        d.check_exit = False
        t.ok(rc == 1 and any(busy in l.raw for l in d.lines),
             "listen address in use: exit 1, the message names it",
             "rc %r" % rc, *[l.raw for l in d.lines[:5]])
    finally:
        ls.close()
    bad = "/nonexistent-%d/dir/x.sqlite" % os.getpid()
    d = harness.Daemon(tmp, harness.base_config(tmp, store={"path": bad}),
                       name="nostore")
    d.start(wait=False)
    rc = d.wait_exit(10)
    d.check_exit = False
    t.ok(rc == 1 and any(bad in l.raw for l in d.lines),
         "store that cannot be opened: exit 1, the message names it",
         "rc %r" % rc, *[l.raw for l in d.lines[:5]])


def test_unix_listener():
    o = Origin(harness.ORIGIN_HOST)
    sp = os.path.join(tmp, "pbd.sock")
    conf = harness.base_config(tmp, server={"listen": "unix:" + sp})
    conf["store"]["path"] = os.path.join(tmp, "unix.sqlite")
    d = harness.Daemon(tmp, conf, name="unix")
    d.start()
    t.ok(d.addrs == ["unix:" + sp], "listen = unix:PATH: listening line",
         "%r" % d.addrs)
    tg = BLOG + "post-unix"
    body = harness.method_call("pingback.ping", o.page(
        "/src/unix", link_page(tg)), tg).encode()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    data = b""
    try:
        s.connect(sp)
        s.sendall(b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"text/xml\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        while b"</methodResponse>" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    t.ok(data.startswith(b"HTTP/1.1 200") and b"registered" in data,
         "pingback over the unix socket accepted", "got %r" % data[-200:])
    t.eq([r["client_ip"] for r in d.rows("target = ?", (tg,))], ["unix"],
         "client_ip of a unix-socket client is 'unix'")
    t.check_daemon(d)
    t.ok(not os.path.exists(sp), "the unix socket is removed at exit")


def test_json_logs():
    conf = harness.base_config(tmp, log={"format": "json"})
    conf["store"]["path"] = os.path.join(tmp, "json.sqlite")
    d = harness.Daemon(tmp, conf, name="json")
    d.start()
    r = d.call("system.listMethods")
    t.ok(r.ok, "json-logging daemon serves", "got %r" % (r,))
    o = Origin(harness.ORIGIN_HOST)
    tg = BLOG + "post-json"
    src = o.page("/src/json\"quote", link_page(
        tg, title="a \"b\"\n\\ c\tevent\u00e4"))
    r = d.ping(src, tg)
    t.ok(r.ok, "json: pingback with quotes in title and URL accepted",
         "got %r" % (r,))
    d.stop()
    t.ok(d.lines and all(l.json for l in d.lines
                         if not any(m in l.raw for m in
                                    harness.SANITIZER_MARKS)),
         "log.format=json: every line is a JSON object",
         *[l.raw for l in d.lines if not l.json][:5])
    t.ok(d.find("listening") and d.find("stopped"),
         "json lines carry event names", *[l.raw for l in d.lines][:5])
    t.check_daemon(d)


t.run(test_version)
t.run(test_good)
t.run(test_bad)
t.run(test_start_bad)
t.run(test_two_listeners_and_path)
t.run(test_startup_failures)
t.run(test_unix_listener)
t.run(test_json_logs)
sys.exit(t.done())
