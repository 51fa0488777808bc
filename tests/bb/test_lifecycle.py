#!/usr/bin/env python3
"""Lifecycle: listening on 127.0.0.1 and ::1 at once, SIGHUP with a
changed and with a broken configuration, SIGTERM and SIGINT while a slow
pingback is in flight (answered, exit 0, no new connections), and
durability across SIGKILL and restart."""

import os
import select
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_lifecycle")
tmp = harness.mktmp("lifecycle")
origin = Origin(harness.ORIGIN_HOST)
seq = [0]


def fresh(tag):
    """A new target and a source page linking to it."""
    seq[0] += 1
    tg = BLOG + "post-%s-%d" % (tag, seq[0])
    src = origin.page("/src/%s-%d" % (tag, seq[0]), link_page(tg))
    return src, tg


def sub(name):
    p = os.path.join(tmp, name)
    os.makedirs(p, exist_ok=True)
    return p


def test_dual_stack():
    if not harness.have_ipv6():
        t.skip("listen on 127.0.0.1 and [::1]", "no IPv6 loopback")
        return
    dd = sub("dual")
    d = harness.Daemon(dd, harness.base_config(dd, server={
        "listen": ["127.0.0.1:0", "[::1]:0"]}), name="dual")
    d.start()
    v4 = [a for a in d.addrs if a.startswith("127.0.0.1:")]
    v6 = [a for a in d.addrs if a.startswith("[::1]:")]
    t.ok(len(v4) == 1 and len(v6) == 1,
         "listening lines for 127.0.0.1:PORT and [::1]:PORT", "%r" % d.addrs)
    for i, a in enumerate(d.addrs):
        src, tg = fresh("dual")
        r = d.ping(src, tg, i=i)
        t.ok(r.ok, "ping through %s" % ("IPv6" if a.startswith("[") else
                                        "IPv4"), "got %r" % (r,))
        rows = d.rows("target = ?", (tg,))
        want = "::1" if a.startswith("[") else "127.0.0.1"
        t.ok(rows and rows[0]["client_ip"] == want,
             "client_ip is %s" % want, "rows %r" % rows)
    t.check_daemon(d)


def test_sighup():
    dd = sub("hup")
    conf = harness.base_config(dd)
    d = harness.Daemon(dd, conf, name="hup")
    d.start()
    src, tg = fresh("hup")
    t.ok(d.ping(src, tg).ok, "before SIGHUP: blog.example.com target accepted")
    other = "http://other.example/"
    conf["targets"]["allow"] = other
    harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    line = d.wait_log("config.reloaded", since=mark, timeout=10)
    t.ok(line is not None, "SIGHUP: event=config.reloaded logged",
         *[l.raw for l in d.lines[mark:]])
    t.ok(line is not None and line.get("path") == d.conf_path,
         "config.reloaded names the file", line.raw if line else "")
    src, tg = fresh("hup")
    r = d.ping(src, tg)
    t.ok(r.fault == 33, "after reload: old target prefix refused with 33",
         "got %r" % (r,))
    tg2 = other + "post-hup"
    src2 = origin.page("/src/hup-other", link_page(tg2))
    r = d.ping(src2, tg2)
    t.ok(r.ok, "after reload: new target prefix accepted", "got %r" % (r,))
    # broken file that would also switch back to the first prefix:
    # refused as a whole, the running configuration kept
    conf["targets"]["allow"] = BLOG
    conf["fetch"]["no_such_key"] = "1"
    where = harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    line = d.wait_log("config.rejected", since=mark, timeout=10)
    t.ok(line is not None and line.get("error"),
         "broken file: event=config.rejected with an error",
         *[l.raw for l in d.lines[mark:]])
    want = "%s:%d:" % (d.conf_path, where[("fetch", "no_such_key")])
    t.ok(line is not None and want in line.get("error", ""),
         "config.rejected error has FILE:LINE", line.raw if line else "")
    t.ok(d.running(), "daemon still running after a rejected reload")
    src, tg = fresh("hup")
    r = d.ping(src, tg)
    t.ok(r.fault == 33, "rejected reload not half-applied: first prefix "
         "still refused", "got %r" % (r,))
    tg3 = other + "post-hup3"
    src3 = origin.page("/src/hup-other3", link_page(tg3))
    r = d.ping(src3, tg3)
    t.ok(r.ok, "rejected reload: the running configuration still serves",
         "got %r" % (r,))
    # SIGHUP with the file unchanged from the running one
    del conf["fetch"]["no_such_key"]
    conf["targets"]["allow"] = other
    harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("config.reloaded", since=mark, timeout=10) is not None,
         "fixed file: reloaded again")
    t.check_daemon(d)


def test_sighup_inflight():
    dd = sub("hup2")
    conf = harness.base_config(dd, fetch={"timeout": "10"})
    d = harness.Daemon(dd, conf, name="hup2")
    d.start()
    tg = BLOG + "post-hup-inflight"
    path = "/src/hup-inflight"
    src = origin.slow(path, link_page(tg), delay=1.5)
    out = []
    th = threading.Thread(target=lambda: out.append(d.ping(src, tg,
                                                           timeout=30)))
    th.start()
    harness.wait_until(lambda: origin.count(path) > 0, 10)
    conf["store"]["default_status"] = "approved"
    harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("config.reloaded", since=mark, timeout=10) is not None,
         "SIGHUP during a fetch: reloaded")
    th.join(30)
    t.ok(out and out[0].ok, "the in-flight pingback completes after the "
         "reload", "got %r" % (out,))
    src2, tg2 = fresh("hup2")
    r = d.ping(src2, tg2)
    rows = d.rows("target = ?", (tg2,))
    t.ok(r.ok and rows and rows[0]["status"] == "approved",
         "after reload: new rows get the new default_status",
         "got %r rows %r" % (r, rows))
    t.check_daemon(d)


def slow_inflight(sig, name):
    dd = sub(name)
    d = harness.Daemon(dd, harness.base_config(dd, fetch={"timeout": "10"}),
                       name=name)
    d.start()
    tg = BLOG + "post-%s" % name
    path = "/src/slow-%s" % name
    src = origin.slow(path, link_page(tg), delay=2)
    out = []
    th = threading.Thread(target=lambda: out.append(d.ping(src, tg,
                                                           timeout=30)))
    th.start()
    seen = harness.wait_until(lambda: origin.count(path) > 0, 10)
    t.ok(seen, "%s: slow fetch in flight" % name)
    mark = d.mark()
    d.signal(sig)
    stopping = d.wait_log("stopping", since=mark, timeout=5)
    t.ok(stopping is not None, "%s: event=stopping logged" % name)
    refused = False
    if stopping is not None and th.is_alive():
        host, port = d.hostport()
        try:
            s = socket.create_connection((host, port), timeout=2)
            try:
                s.sendall(b"GET /xmlrpc HTTP/1.0\r\n\r\n")
                refused = s.recv(100) == b""
            except OSError:
                refused = True
            s.close()
        except OSError:
            refused = True
        t.ok(refused, "%s: no new requests served while stopping" % name)
    else:
        t.skip("%s: no new requests served while stopping" % name,
               "in-flight request already done")
    th.join(30)
    r = out[0] if out else None
    t.ok(r is not None and r.ok, "%s: the in-flight pingback is answered "
         "with success" % name, "got %r" % (r,))
    rc = d.wait_exit(20)
    t.eq(rc, 0, "%s: daemon exits 0 after finishing" % name)
    t.ok(d.find("stopped", since=mark), "%s: event=stopped logged" % name)
    t.eq(len(d.rows("target = ?", (tg,))), 1,
         "%s: the in-flight pingback is stored" % name)
    t.check_daemon(d)


def test_sigterm_inflight():
    slow_inflight(signal.SIGTERM, "sigterm")


def test_sigint_inflight():
    slow_inflight(signal.SIGINT, "sigint")


def test_sigterm_bounded():
    dd = sub("bounded")
    d = harness.Daemon(dd, harness.base_config(dd, fetch={"timeout": "2"}),
                       name="bounded")
    d.start()
    ls = socket.socket()
    ls.bind((harness.ORIGIN_HOST, 0))
    ls.listen(4)
    harness.at_cleanup(ls.close)
    src = "http://%s:%d/never" % ls.getsockname()
    out = []
    th = threading.Thread(target=lambda: out.append(
        d.ping(src, BLOG + "post-bounded", timeout=30)))
    th.start()
    # the daemon has connected once the listen queue is readable
    t.ok(select.select([ls], [], [], 10)[0], "fetch of a silent server "
         "started")
    d.signal(signal.SIGTERM)
    rc = d.wait_exit(2 + 5 + 5)
    th.join(15)
    t.eq(rc, 0, "SIGTERM with a fetch that never ends: exit 0 within "
         "fetch.timeout + grace")
    r = out[0] if out else None
    t.ok(r is not None and r.fault == 16, "that pingback is answered "
         "(fault 16) before the exit", "got %r" % (r,))
    t.check_daemon(d)


def test_sigterm_idle():
    dd = sub("idle")
    d = harness.Daemon(dd, harness.base_config(dd), name="idle")
    d.start()
    d.signal(signal.SIGTERM)
    rc = d.wait_exit(10)
    t.eq(rc, 0, "idle daemon exits 0 on SIGTERM within 10 s")
    t.check_daemon(d)


def test_durable_after_sigkill():
    dd = sub("kill")
    conf = harness.base_config(dd)
    d = harness.Daemon(dd, conf, name="kill")
    d.start()
    src, tg = fresh("kill")
    r = d.ping(src, tg)
    t.ok(r.ok, "pingback accepted before SIGKILL", "got %r" % (r,))
    d.check_exit = False
    d.proc.send_signal(signal.SIGKILL)
    d.wait_exit(10)
    t.eq(len(harness.store_rows(d.store_path, "target = ?", (tg,))), 1,
         "acknowledged pingback survives SIGKILL")
    d2 = harness.Daemon(dd, conf, name="kill2")
    d2.start()
    r = d2.ping(src, tg)
    t.ok(r.fault == 48, "after restart on the same store: fault 48",
         "got %r" % (r,))
    r = d2.call("pingback.extensions.getPingbacks", tg)
    t.ok(r.ok and r.value == [src], "after restart: getPingbacks lists it",
         "got %r" % (r,))
    t.check_daemon(d2)


t.run(test_dual_stack)
t.run(test_sighup)
t.run(test_sighup_inflight)
t.run(test_sigterm_inflight)
t.run(test_sigint_inflight)
t.run(test_sigterm_bounded)
t.run(test_sigterm_idle)
t.run(test_durable_after_sigkill)
sys.exit(t.done())
