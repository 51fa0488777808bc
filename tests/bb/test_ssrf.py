#!/usr/bin/env python3
"""The SSRF guard: sources on loopback in every spelling, non-HTTP
schemes, and redirects out of the allowed origin are refused with fault 16
while canaries on 127.0.0.1, 127.0.0.3 and ::1 see no connection at all;
proxy environment variables are ignored."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, Canary, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_ssrf")
tmp = harness.mktmp("ssrf")
TG = BLOG + "post-ssrf"
origin = Origin(harness.ORIGIN_HOST)
c1 = Canary("127.0.0.1", TG)
c3 = Canary("127.0.0.3", TG)
c6 = Canary("::1", TG) if harness.have_ipv6() else None
CANARIES = [("127.0.0.1", c1), ("127.0.0.3", c3)] + \
    ([("::1", c6)] if c6 else [])
d = harness.Daemon(tmp, harness.base_config(tmp), name="ssrf")
t.start(d)
counter = [0]


def seen():
    return {name: c.seen() for name, c in CANARIES}


def refused(desc, source, target=None, codes=(16,)):
    """Ping with source; expect fault 16 and silent canaries."""
    counter[0] += 1
    tg = target or "%s-%d" % (TG, counter[0])
    before = seen()
    mark = d.mark()
    r = d.ping(source, tg, timeout=20)
    after = seen()
    t.ok(r.fault in codes and r.fault_string,
         "fault %s: %s" % ("/".join(map(str, codes)), desc),
         "source %r" % source, "got %r" % (r,))
    t.ok(after == before, "no canary contacted: %s" % desc,
         "before %r" % before, "after  %r" % after)
    line = d.find("pingback.rejected", since=mark)
    if line:
        t.diag("%s: reason=%s" % (desc, line[0].get("reason")))
    return r


def test_control():
    src = origin.page("/src/ok.html", link_page(TG + "-control"))
    r = d.ping(src, TG + "-control")
    t.ok(r.ok, "control: a source on the allowed network 127.0.0.2 works",
         "got %r" % (r,))


def test_loopback_spellings():
    p1 = c1.port
    refused("http://127.0.0.1:PORT/", "http://127.0.0.1:%d/" % p1)
    refused("http://localhost:PORT/", "http://localhost:%d/" % p1)
    refused("http://LOCALHOST.:PORT/", "http://LOCALHOST.:%d/" % p1)
    refused("decimal http://2130706433:PORT/", "http://2130706433:%d/" % p1)
    refused("hex http://0x7f.1:PORT/", "http://0x7f.1:%d/" % p1)
    refused("hex http://0x7f000001:PORT/", "http://0x7f000001:%d/" % p1)
    refused("octal http://0177.0.0.1:PORT/", "http://0177.0.0.1:%d/" % p1)
    refused("short http://127.1:PORT/", "http://127.1:%d/" % p1)
    refused("v4-mapped http://[::ffff:127.0.0.1]:PORT/",
            "http://[::ffff:127.0.0.1]:%d/" % p1)
    refused("v4-mapped hex http://[::ffff:7f00:1]:PORT/",
            "http://[::ffff:7f00:1]:%d/" % p1)
    refused("http://0.0.0.0:PORT/", "http://0.0.0.0:%d/" % p1)
    refused("userinfo http://127.0.0.2@127.0.0.1:PORT/",
            "http://127.0.0.2@127.0.0.1:%d/" % p1)
    refused("other loopback http://127.0.0.3:PORT/",
            "http://127.0.0.3:%d/" % c3.port)
    if c6:
        refused("http://[::1]:PORT/", "http://[::1]:%d/" % c6.port)
        refused("http://[::]:PORT/", "http://[::]:%d/" % c6.port)
        refused("http://[0:0:0:0:0:0:0:1]:PORT/",
                "http://[0:0:0:0:0:0:0:1]:%d/" % c6.port)
    else:
        t.skip("http://[::1]:PORT/ refused", "no IPv6 loopback")


def test_schemes():
    p1 = c1.port
    refused("ftp:// source", "ftp://127.0.0.1:%d/file.html" % p1)
    refused("file:///etc/passwd source", "file:///etc/passwd")
    refused("file://localhost/etc/passwd source",
            "file://localhost/etc/passwd")
    refused("gopher:// source", "gopher://127.0.0.1:%d/_GET%%20/" % p1)
    refused("dict:// source", "dict://127.0.0.1:%d/info" % p1)
    refused("https:// to a canary", "https://127.0.0.1:%d/" % p1)
    refused("scheme-relative source", "//127.0.0.1:%d/" % p1,
            codes=(16, 0))
    refused("no scheme", "127.0.0.1:%d/" % p1, codes=(16, 0))


def test_redirects_out():
    p1, p3 = c1.port, c3.port
    refused("redirect 127.0.0.2 -> 127.0.0.1",
            origin.redirect("/r/c1", "http://127.0.0.1:%d/" % p1))
    refused("redirect 127.0.0.2 -> 127.0.0.3",
            origin.redirect("/r/c3", "http://127.0.0.3:%d/" % p3))
    refused("redirect 127.0.0.2 -> localhost",
            origin.redirect("/r/lh", "http://localhost:%d/" % p1))
    refused("301 redirect 127.0.0.2 -> 127.0.0.1",
            origin.redirect("/r/c1-301", "http://127.0.0.1:%d/" % p1, 301))
    refused("307 redirect 127.0.0.2 -> 127.0.0.1",
            origin.redirect("/r/c1-307", "http://127.0.0.1:%d/" % p1, 307))
    refused("redirect after a redirect -> 127.0.0.1",
            origin.redirect("/r/two", origin.url("/r/c1")))
    if c6:
        refused("redirect 127.0.0.2 -> [::1]",
                origin.redirect("/r/c6", "http://[::1]:%d/" % c6.port))
    refused("redirect to file:///etc/passwd",
            origin.redirect("/r/file", "file:///etc/passwd"))
    refused("redirect to ftp://",
            origin.redirect("/r/ftp", "ftp://127.0.0.1:%d/" % p1))
    refused("redirect to gopher://",
            origin.redirect("/r/gopher", "gopher://127.0.0.1:%d/_x" % p1))
    # a redirect inside the allowed network is fine
    tg = TG + "-inside"
    origin.page("/src/inside.html", link_page(tg))
    r = d.ping(origin.redirect("/r/inside", origin.url("/src/inside.html")),
               tg)
    t.ok(r.ok, "redirect within 127.0.0.2 is followed", "got %r" % (r,))


def test_passwd_never_leaks():
    rows = d.rows()
    leaked = [r for r in rows if "root:" in (r.get("excerpt") or "")
              or "root:" in (r.get("title") or "")]
    t.eq(leaked, [], "nothing from /etc/passwd in the store")
    lines = [l.raw for l in d.lines if "root:x:" in l.raw]
    t.eq(lines, [], "nothing from /etc/passwd in the log")


def test_proxy_env_ignored():
    tmp2 = harness.mktmp("ssrf-proxy")
    px = "http://127.0.0.1:%d" % c1.port
    env = {k: px for k in ("http_proxy", "HTTP_PROXY", "https_proxy",
                           "HTTPS_PROXY", "ALL_PROXY", "all_proxy")}
    env["no_proxy"] = ""
    d2 = harness.Daemon(tmp2, harness.base_config(tmp2), name="proxyenv",
                        env=env)
    d2.start()
    before = seen()
    tg = TG + "-proxy"
    src = origin.page("/src/proxy.html", link_page(tg))
    r = d2.ping(src, tg)
    t.ok(r.ok, "proxy variables set: a valid pingback still succeeds",
         "got %r" % (r,))
    t.ok(origin.count("/src/proxy.html") == 1,
         "the origin was fetched directly")
    t.eq(seen(), before, "proxy variables set: the canary (as proxy) saw "
         "nothing")
    t.check_daemon(d2)


t.run(test_control)
t.run(test_loopback_spellings)
t.run(test_schemes)
t.run(test_redirects_out)
t.run(test_passwd_never_leaks)
t.run(test_proxy_env_ignored)
t.eq(seen(), {n: (0, 0) for n, _ in CANARIES},
     "canaries saw nothing in the whole run")
sys.exit(t.done())
