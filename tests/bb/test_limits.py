#!/usr/bin/env python3
"""Limits: fetch.max_bytes (endless and oversized answers, gzip bombs),
fetch.timeout (slow and trickling sources), fetch.max_redirects (exactly
the limit passes, one more fails, loops fail), fetch.max_per_host (the
origin never sees more at once, queued ones still succeed) and
server.max_body (HTTP 413, also for chunked and lying bodies)."""

import gzip
import http.client
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_limits")
tmp = harness.mktmp("limits")
origin = Origin(harness.ORIGIN_HOST)
d = harness.Daemon(tmp, harness.base_config(
    tmp, server={"max_body": "1024"},
    fetch={"timeout": "1", "max_bytes": "4096", "max_redirects": "3"}),
    name="limits")
t.start(d)


def fault16(r, desc, max_s=None):
    t.ok(r.fault == 16 and r.fault_string, desc, "got %r" % (r,))
    if max_s is not None:
        t.ok(r.elapsed < max_s, "%s: answered within %.1f s" % (desc, max_s),
             "took %.2f s" % r.elapsed)


def test_max_bytes():
    tg = BLOG + "post-bytes"
    src = origin.stream("/src/endless", chunk=b"<a href=\"%s\">x</a> " %
                        tg.encode() + b"blah " * 200)
    info = origin.stream_info
    r = d.ping(src, tg, timeout=20)
    fault16(r, "endless answer: fault 16 (max_bytes)", 5)
    ended = harness.wait_until(lambda: info["ended"], 10)
    t.ok(ended and ended[0] == "client gone",
         "the daemon hung up on the endless answer", "ended: %r, sent %d"
         % (ended, info["sent"]))
    big = link_page(tg, after=" " + "Füllwort " * 1000)
    fault16(d.ping(origin.page("/src/big", big), tg),
            "answer over max_bytes with Content-Length: fault 16", 5)
    small = link_page(tg, after=" " + "Wort " * 300)
    t.ok(len(small) < 4096, "(small page is under the limit)")
    r = d.ping(origin.page("/src/small", small), tg)
    t.ok(r.ok, "answer under max_bytes accepted", "got %r" % (r,))


def test_gzip_bomb():
    tg = BLOG + "post-gzip"
    raw = link_page(tg) + b" " * (4 * 1024 * 1024)
    packed = gzip.compress(raw, 9)
    asked = []

    def h(req):
        ae = req.headers.get("Accept-Encoding", "")
        asked.append(ae)
        req._send(200, packed, "text/html",
                  {"Content-Encoding": "gzip"})
    origin.routes["/src/bomb"] = h
    r = d.ping(origin.url("/src/bomb"), tg, timeout=20)
    t.diag("compressed %d bytes, Accept-Encoding sent: %r"
           % (len(packed), asked))
    t.ok(r.fault in (16, 17) and r.elapsed < 5,
         "gzip bomb (4 MiB inflated, %d B on the wire): refused quickly"
         % len(packed), "got %r" % (r,))
    t.ok(d.running(), "daemon alive after the gzip bomb")


def test_timeout():
    tg = BLOG + "post-timeout"
    src = origin.slow("/src/slow", link_page(tg), delay=5)
    fault16(d.ping(src, tg, timeout=20),
            "source slower than fetch.timeout=1: fault 16", 3.5)
    src = origin.stream("/src/trickle", interval=0.25, chunk=b"<p>x</p>",
                        max_time=10)
    fault16(d.ping(src, tg, timeout=20),
            "trickling source (a few bytes every 0.25 s): fault 16", 3.5)
    # a server that accepts and never answers
    ls = socket.socket()
    ls.bind((harness.ORIGIN_HOST, 0))
    ls.listen(4)
    harness.at_cleanup(ls.close)
    fault16(d.ping("http://%s:%d/" % ls.getsockname(), tg, timeout=20),
            "server that never answers: fault 16", 3.5)


def test_redirects():
    tg = BLOG + "post-redirects"
    final = origin.page("/src/redir-final", link_page(tg))
    r = d.ping(origin.chain("/src/c3", 3, final), tg)
    t.ok(r.ok, "exactly max_redirects=3 redirects: accepted", "got %r" % (r,))
    tg4 = BLOG + "post-redirects4"
    final4 = origin.page("/src/redir-final4", link_page(tg4))
    fault16(d.ping(origin.chain("/src/c4", 4, final4), tg4),
            "max_redirects+1 = 4 redirects: fault 16")
    t.eq(origin.count("/src/redir-final4"), 0,
         "the page behind the 4th redirect was not fetched")
    fault16(d.ping(origin.loop("/src/loop"), tg), "redirect loop: fault 16",
            5)
    t.ok(origin.count("/src/loop") <= 4, "redirect loop stopped after "
         "max_redirects", "fetched %d times" % origin.count("/src/loop"))
    fault16(d.ping(origin.redirect("/src/noloc", ""), tg),
            "redirect with an empty Location: fault 16")


def parallel_limit(name, fetch, limit):
    """6 concurrent pingbacks with slow (0.5 s) sources on one origin."""
    tmp2 = harness.mktmp("limits-" + name)
    fetch = dict(fetch, timeout="10")
    d2 = harness.Daemon(tmp2, harness.base_config(tmp2, fetch=fetch),
                        name=name)
    d2.start()
    o2 = Origin(harness.ORIGIN_HOST)
    n = 6
    srcs = []
    for i in range(n):
        tg = BLOG + "post-%s-%d" % (name, i)
        srcs.append((o2.slow("/src/%s-%d" % (name, i),
                             link_page(tg), 0.5), tg))
    out = [None] * n

    def go(i):
        out[i] = d2.ping(*srcs[i], timeout=30)
    ths = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for th in ths:
        th.start()
    for th in ths:
        th.join(40)
    took = time.monotonic() - t0
    what = ", ".join("%s=%s" % kv for kv in sorted(fetch.items())
                     if kv[0] != "timeout")
    t.ok(all(r is not None and r.ok for r in out),
         "%s: all %d concurrent pingbacks succeed" % (what, n),
         *["%d: %r" % (i, r) for i, r in enumerate(out)])
    t.ok(o2.max_active <= limit, "%s: the origin never saw more than %d "
         "requests at once" % (what, limit), "max seen: %d" % o2.max_active)
    t.ok(o2.max_active == limit, "%s: %d fetches did run in parallel"
         % (what, limit), "max seen: %d" % o2.max_active)
    t.diag("6 x 0.5 s with %s took %.2f s, %d fetches"
           % (what, took, o2.count()))
    t.check_daemon(d2)


def test_per_host():
    parallel_limit("perhost", {"max_per_host": "2", "max_concurrent": "32"},
                   2)


def test_max_concurrent():
    parallel_limit("maxconc", {"max_per_host": "8", "max_concurrent": "3"},
                   3)


def test_max_body():
    mark = d.mark()
    big = harness.method_call("pingback.ping", "http://a.example/" + "x" * 2000,
                              BLOG + "p")
    st, hdrs, body = d.http("POST", "/xmlrpc", big,
                            {"Content-Type": "text/xml"})
    t.eq(st, 413, "body over server.max_body=1024: HTTP 413")
    line = d.wait_log("http.refused", since=mark, timeout=3)
    t.ok(line is not None and line.get("status") == "413",
         "event=http.refused status=413 logged",
         line.raw if line else "no line")
    small = harness.method_call("system.listMethods")
    st, r, _ = d.post_xml(small)
    t.ok(st == 200 and r.ok, "small body still served", "got %r %r" % (st, r))
    # chunked request body over the limit
    host, port = d.hostport()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("POST", "/xmlrpc", body=iter([big.encode()[:600],
                                                   big.encode()[600:]]),
                     headers={"Content-Type": "text/xml"},
                     encode_chunked=True)
        st = conn.getresponse().status
    except (OSError, http.client.HTTPException) as e:
        st = "error %r" % e
    finally:
        conn.close()
    t.eq(st, 413, "chunked body over max_body: HTTP 413")
    # a Content-Length far over the limit: answered at once, no body read
    s = socket.create_connection((host, port), timeout=3)
    try:
        s.sendall(b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"text/xml\r\nContent-Length: 100000000\r\n\r\n<?xml")
        t0 = time.monotonic()
        data = b""
        while b"\r\n" not in data and time.monotonic() - t0 < 5:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        data = b"error %r" % e
    finally:
        s.close()
    t.ok(data.startswith(b"HTTP/1.1 413") or data.startswith(b"HTTP/1.0 413"),
         "Content-Length of 100 MB: 413 without waiting for the body",
         "got %r" % data[:80])
    t.ok(d.call("system.listMethods").ok, "daemon serves after the 413s")


with harness.RssWatch(t, d, 'max_bytes'):
    t.run(test_max_bytes)
with harness.RssWatch(t, d, 'gzip_bomb'):
    t.run(test_gzip_bomb)
with harness.RssWatch(t, d, 'timeout'):
    t.run(test_timeout)
with harness.RssWatch(t, d, 'redirects'):
    t.run(test_redirects)
with harness.RssWatch(t, d, 'max_body'):
    t.run(test_max_body)
with harness.RssWatch(t, d, 'per_host'):
    t.run(test_per_host)
with harness.RssWatch(t, d, 'max_concurrent'):
    t.run(test_max_concurrent)
sys.exit(t.done())
