#!/usr/bin/env python3
"""Every Pingback fault code through pingback.ping, with a non-empty
faultString; one faultString for every kind of 'source cannot be fetched'
(no port scanning through fault texts); rate limiting without fetching;
a locked store answered with 50, then success once it is free."""

import os
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, nolink_page, Canary, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_faults")
tmp = harness.mktmp("faults")
origin = Origin(harness.ORIGIN_HOST)
canary = Canary("127.0.0.1", BLOG + "post-canary")
OBLOG = origin.url("/blog/")
d = harness.Daemon(tmp, harness.base_config(
    tmp, allow=BLOG, fetch={"timeout": "1"}), name="faults")
t.start(d)


def expect_fault(r, code, desc):
    return t.ok(r.fault == code and isinstance(r.fault_string, str)
                and r.fault_string.strip() != "", desc,
                "want fault %d with a message, got %r" % (code, r))


def test_fault_16_and_uniform_string():
    tg = BLOG + "post-16"
    origin.not_found("/src/404")
    origin.page("/src/500", b"oops", "text/html", status=500)
    origin.page("/src/plain", b"<a href=\"%s\">x</a>" % tg.encode(),
                "text/plain")
    origin.page("/src/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
    origin.slow("/src/slow", link_page(tg), delay=4)
    cases = [
        ("HTTP 404", origin.url("/src/404")),
        ("HTTP 500", origin.url("/src/500")),
        ("text/plain", origin.url("/src/plain")),
        ("image/png", origin.url("/src/png")),
        ("timeout", origin.url("/src/slow")),
        ("SSRF guard (127.0.0.1)", canary.url("/")),
        ("connection refused", "http://127.0.0.2:%d/" % harness.free_port()),
        ("DNS failure", "http://nonexistent.invalid/page"),
    ]
    strings = {}
    for name, src in cases:
        r = d.ping(src, tg, timeout=20)
        expect_fault(r, 16, "fault 16: %s" % name)
        if name == "timeout":
            t.ok(r.elapsed < 3.5, "timeout answered within fetch.timeout "
                 "plus slack", "took %.2fs" % r.elapsed)
        if r.fault == 16:
            strings[name] = r.fault_string
    t.ok(len(set(strings.values())) == 1 and len(strings) == len(cases),
         "fault 16 has the same faultString for every cause",
         *["%s: %r" % kv for kv in sorted(strings.items())])
    t.eq(canary.seen(), (0, 0), "canary on 127.0.0.1 was not contacted")


def test_fault_17():
    src = origin.page("/src/nolink", nolink_page())
    expect_fault(d.ping(src, BLOG + "post-17"), 17, "fault 17: no link")


def test_fault_33():
    src = origin.page("/src/33", link_page("http://other.example/p"))
    n = origin.count("/src/33")
    expect_fault(d.ping(src, "http://other.example/p"), 33,
                 "fault 33: target not under targets.allow")
    expect_fault(d.ping(src, "http://blog.example.com.evil.example/p"), 33,
                 "fault 33: allow prefix must not match a longer host")
    expect_fault(d.ping(src, "https://blog.example.com/p"), 33,
                 "fault 33: other scheme than the allow prefix")
    expect_fault(d.ping(src, "not a url"), 33, "fault 33: target not a URL")
    expect_fault(d.ping(src, ""), 33, "fault 33: empty target")
    expect_fault(d.ping(src, "ftp://blog.example.com/p"), 33,
                 "fault 33: ftp target")
    expect_fault(d.ping(BLOG + "post-same", BLOG + "post-same"), 33,
                 "fault 33: source equals target")
    expect_fault(d.ping("http://BLOG.example.com:80/post-same2#x",
                        BLOG + "post-same2"), 33,
                 "fault 33: source equals target after normalisation")
    t.eq(origin.count("/src/33"), n, "no fetch for a refused target")


def test_allow_prefix_boundaries():
    tmp4 = harness.mktmp("faults-allow")
    d4 = harness.Daemon(tmp4, harness.base_config(
        tmp4, allow="http://blog.example.com/blog HTTP://Blog.Example.COM:80"
        "/other/"), name="allow")
    d4.start()
    tg_ok = "http://blog.example.com/other/post"
    src = origin.page("/src/allow", link_page(tg_ok))
    r = d4.ping(src, tg_ok)
    t.ok(r.ok, "allow prefixes are normalised (HTTP://Blog.Example.COM:80)",
         "got %r" % (r,))
    for tg, why in [
            ("http://blog.example.com.evil.example/blog/x", "longer host"),
            ("http://blog.example.com@evil.example/blog/x", "userinfo"),
            ("http://evil.example/http://blog.example.com/blog/x",
             "prefix in the path"),
            ("http://blog.example.com:8080/blog/x", "other port"),
            ("http://blog.example.com/blog/../admin", "dot segments"),
            ("http://blog.example.com/blog/%2e%2e/admin",
             "escaped dot segments"),
            ("http://blog.example.com/other", "the prefix without its slash"),
            ("http://blog.example.com/", "the site root")]:
        expect_fault(d4.ping(src, tg), 33, "fault 33: %s (%s)" % (why, tg))
    t.check_daemon(d4)


def test_fault_48():
    tg = BLOG + "post-48"
    src = origin.page("/src/48", link_page(tg))
    r = d.ping(src, tg)
    t.ok(r.ok, "first pingback succeeds", "got %r" % (r,))
    expect_fault(d.ping(src, tg), 48, "fault 48: already registered")
    expect_fault(d.ping(src + "#frag", "http://BLOG.EXAMPLE.COM/post-48"), 48,
                 "fault 48: normalised variant already registered")


def test_fault_0_via_ping():
    cases = [("one parameter", ("http://a.example/",)),
             ("three parameters", ("http://a.example/", BLOG + "x", "x")),
             ("no parameters", ()),
             ("integer source", (42, BLOG + "x")),
             ("array target", ("http://a.example/", [BLOG + "x"]))]
    for name, args in cases:
        r = d.call("pingback.ping", *args)
        expect_fault(r, 0, "fault 0: pingback.ping with %s" % name)
    expect_fault(d.call("pingback.pong", "a", "b"), 0,
                 "fault 0: unknown method")


def test_fault_32():
    tmp2 = harness.mktmp("faults32")
    tpre = origin.url("/post/")
    d2 = harness.Daemon(tmp2, harness.base_config(
        tmp2, allow=tpre, targets={"require_existing": "yes"}), name="re")
    d2.start()
    origin.page("/post/exists", b"<html><title>post</title></html>")
    origin.not_found("/post/missing")
    origin.page("/post/error", b"err", "text/html", status=500)
    for path in ("missing", "error", "exists"):
        origin.page("/src/32-%s" % path,
                    link_page(tpre + path))
    r = d2.ping(origin.url("/src/32-missing"), tpre + "missing")
    expect_fault(r, 32, "fault 32: target answers 404")
    t.ok(origin.count("/post/missing") >= 1,
         "require_existing GETs the target (SSRF guard not applied)")
    expect_fault(d2.ping(origin.url("/src/32-error"), tpre + "error"), 32,
                 "fault 32: target answers 500")
    r = d2.ping(origin.url("/src/32-exists"), tpre + "exists")
    t.ok(r.ok, "require_existing: existing target accepted", "got %r" % (r,))
    r = d2.ping(origin.url("/src/32-nothere"), tpre + "nothere-at-all")
    t.ok(r.fault in (32, 16), "missing target with a missing source: a "
         "fault (32 or 16)", "got %r" % (r,))
    t.check_daemon(d2)


def test_fault_49():
    tmp3 = harness.mktmp("faults49")
    d3 = harness.Daemon(tmp3, harness.base_config(
        tmp3, limits={"client_burst": "2", "client_rate": "0.001"}),
        name="rl")
    d3.start()
    res = []
    for i in range(3):
        src = origin.page("/src/49-%d" % i, link_page(
            BLOG + "post-49-%d" % i))
        res.append(d3.ping(src, BLOG + "post-49-%d" % i))
    t.ok(res[0].ok and res[1].ok, "first client_burst=2 requests served",
         "got %r" % (res[:2],))
    expect_fault(res[2], 49, "fault 49: third request rate limited")
    t.eq(origin.count("/src/49-2"), 0, "no fetch for a rate-limited request")
    line = d3.wait_log("http.limit", timeout=3, limit="client_rate")
    t.ok(line is not None and line.get("client") == "127.0.0.1",
         "rate limit logged (event=http.limit limit=client_rate) with the "
         "client", line.raw if line else "no line")
    t.ok(res[2].elapsed < 2, "rate-limited answer is immediate",
         "took %.2fs" % res[2].elapsed)
    t.check_daemon(d3)


def test_fault_50():
    tg = BLOG + "post-50"
    src = origin.page("/src/50", link_page(tg))
    # the store exists once the daemon has started (and stored above)
    harness.wait_until(lambda: os.path.exists(d.store_path), 5)
    db = sqlite3.connect(d.store_path, timeout=5, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        r = d.ping(src, tg, timeout=30)
        expect_fault(r, 50, "fault 50: store locked")
        t.ok(1.0 <= r.elapsed < 10, "fault 50 after a bounded retry (~2 s)",
             "took %.2fs" % r.elapsed)
    finally:
        db.execute("ROLLBACK")
        db.close()
    r = d.ping(src, tg)
    t.ok(r.ok, "same pingback succeeds once the store is unlocked",
         "got %r" % (r,))
    t.eq(len(d.rows("target = ?", (tg,))), 1, "and is stored once")


def test_concurrent_duplicates():
    """Two identical pingbacks at once: one success, one 48 (or both
    answered and only one row)."""
    tg = BLOG + "post-race"
    src = origin.slow("/src/race", link_page(tg), delay=0.5)
    out = [None, None]

    def go(i):
        out[i] = d.ping(src, tg)
    ths = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(25)
    oks = [r for r in out if r is not None and r.ok]
    f48 = [r for r in out if r is not None and r.fault == 48]
    t.ok(len(oks) == 1 and len(f48) == 1,
         "concurrent identical pingbacks: one success, one fault 48",
         "got %r" % (out,))
    t.eq(len(d.rows("target = ?", (tg,))), 1, "one row for the racing pair")


t.run(test_fault_16_and_uniform_string)
t.run(test_fault_17)
t.run(test_fault_33)
t.run(test_allow_prefix_boundaries)
t.run(test_fault_48)
t.run(test_fault_0_via_ping)
t.run(test_fault_50)
t.run(test_concurrent_duplicates)
t.run(test_fault_32)
t.run(test_fault_49)
sys.exit(t.done())
