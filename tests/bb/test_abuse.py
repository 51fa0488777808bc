#!/usr/bin/env python3
"""Under attack: the abuse limits.  The per-client token bucket (fault 49
on the XML-RPC path, HTTP 429 elsewhere), the per-source-host fetch
budget against reflection floods, the fetch outcome cache, block lists
(and their reload on SIGHUP), slowloris headers and bodies against
read_timeout, idle keep-alive connections, thousands of idle connections
against max_connections, max_headers, an endless source next to
ordinary pingbacks, and clients that pipeline requests without reading
the answers (max_connections must still hold, every answer must come).
Each case asserts a clear fault code or HTTP status, bounded time,
bounded memory where it is heavy, at most one log line per limit and
client, and that the daemon still serves afterwards.

Clients with different addresses bind their sockets to 127.0.0.N before
connecting (any 127/8 address is local on Linux)."""

import errno
import os
import resource
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG, method_call  # noqa: E402
from origin import link_page, nolink_page, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_abuse")
origin = Origin(harness.ORIGIN_HOST)        # the "victim" host
origin4 = Origin("127.0.0.4")               # another host, also allowed
ALLOW_NETS = "127.0.0.2/32 127.0.0.4/32"
MIB = 1024
RSS_GROWTH_KIB = 64 * MIB
n_fresh = [0]


def daemon(tag, **sections):
    """A daemon of its own (temp dir, config) with sections merged over
    the harness's base config; started, or the file bails out."""
    tmp = harness.mktmp("abuse-" + tag)
    sections.setdefault("fetch", {})
    sections["fetch"].setdefault("allow_networks", ALLOW_NETS)
    sections["fetch"].setdefault("timeout", "3")
    d = harness.Daemon(tmp, harness.base_config(tmp, **sections),
                       name="abuse-" + tag)
    return t.start(d)


def fresh(tag, o=None):
    """A new source page (on o, default the victim origin) linking to a
    new target; (source, target)."""
    n_fresh[0] += 1
    o = o or origin
    tg = BLOG + "post-%s-%d" % (tag, n_fresh[0])
    return o.page("/src/%s-%d" % (tag, n_fresh[0]), link_page(tg)), tg


def serves(d, desc, client=None, o=None):
    """Assert d still accepts a valid pingback (from client)."""
    src, tg = fresh("alive", o)
    r = d.ping(src, tg, timeout=15, client=client)
    t.ok(r.ok and r.elapsed < 5, "%s: a valid pingback is still accepted"
         % desc, "got %r" % (r,))
    return r


def fault(r, code, desc, max_s=1.0):
    return t.ok(r.fault == code and bool(r.fault_string) and
                r.elapsed < max_s,
                "%s: fault %d within %.1f s" % (desc, code, max_s),
                "got %r" % (r,))


def rss_limit(d):
    # AddressSanitizer keeps freed memory in quarantine and pads every
    # block (the endless sources take some 32 MiB more under it): allow
    # for that in a sanitizer build.
    return RSS_GROWTH_KIB + (64 * MIB if d.sanitized() else 0)


def rss_check(d, before, peak, desc):
    after = d.rss_kib()
    peak = max(x for x in (peak, after, before) if x is not None)
    lim = rss_limit(d)
    t.diag("%s: VmRSS %s kB before, peak %s kB, %s kB after (limit +%d "
           "MiB)" % (desc, before, peak, after, lim // MIB))
    t.ok(before is not None and after is not None and peak - before < lim,
         "%s: daemon RSS grew by less than %d MiB" % (desc, lim // MIB),
         "VmRSS before %s kB, peak %s kB, after %s kB"
         % (before, peak, after))


class Sampler:
    """Samples the daemon's VmRSS (and optionally its socket count) every
    interval until stopped; keeps the maxima."""

    def __init__(self, d, sockets=False, interval=0.05):
        self.d, self.sockets, self.interval = d, sockets, interval
        self.max_rss = d.rss_kib() or 0
        self.max_socks = d.fds("socket:") if sockets else 0
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            r = self.d.rss_kib()
            if r is not None:
                self.max_rss = max(self.max_rss, r)
            if self.sockets:
                n = self.d.fds("socket:")
                if n is not None:
                    self.max_socks = max(self.max_socks, n)

    def stop(self):
        self._stop.set()
        self._th.join(5)


def limit_lines(d, limit, client=None, since=0, wait=2.0):
    """The http.limit lines for limit (and client) since the mark: wait
    (bounded) for the first, then a moment for any stragglers, as the
    log is read by another thread."""
    f = {"limit": limit}
    if client is not None:
        f["client"] = client
    if d.wait_log("http.limit", timeout=wait, since=since, **f):
        time.sleep(0.3)
    return d.find("http.limit", since=since, **f)


def fault_lines(d, code, client, since=0):
    return [l for l in d.lines[since:]
            if l.event in ("pingback.rejected", "xmlrpc.fault") and
            l.get("fault") == str(code) and l.get("client") == client]


# ---------------------------------------------------------------- sockets

def connect_from(d, client, timeout=10):
    host, port = d.hostport()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((client, 0))
    s.connect((host, port))
    return s


def request_bytes(body=b"", extra=(), path="/xmlrpc"):
    head = [b"POST %s HTTP/1.1" % path.encode(), b"Host: pbd.test",
            b"Content-Type: text/xml", b"Content-Length: %d" % len(body)]
    head += list(extra)
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def read_response(s, timeout=10):
    """Read one HTTP response from s: (status, headers dict, body), or
    (None, {}, partial bytes) on EOF or timeout."""
    end = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        left = end - time.monotonic()
        if left <= 0:
            return None, {}, data
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except OSError:
            return None, {}, data
        if not chunk:
            return None, {}, data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, data
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    want = int(hdrs.get("content-length", "0") or 0)
    while len(body) < want:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        body += chunk
    return status, hdrs, body


def wait_closed(s, timeout):
    """Seconds until the peer closes s (EOF or reset), reading and
    dropping anything it sends; None if still open after timeout."""
    t0 = time.monotonic()
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            if not s.recv(4096):
                return time.monotonic() - t0
        except OSError:
            return time.monotonic() - t0


def trickle(d, client, first, rest, interval=0.5, limit=8.0):
    """Connect from client, send first, then one byte of rest every
    interval.  Return (seconds until the server closed, or None if it
    did not within limit; bytes it sent)."""
    s = connect_from(d, client)
    t0 = time.monotonic()
    got, i = b"", 0
    try:
        s.sendall(first)
        while time.monotonic() - t0 < limit:
            r, _, _ = select.select([s], [], [], interval)
            if r:
                data = s.recv(4096)
                if not data:
                    return time.monotonic() - t0, got
                got += data
                continue
            if i < len(rest):
                s.send(rest[i:i + 1])
                i += 1
    except OSError:
        return time.monotonic() - t0, got
    finally:
        s.close()
    return None, got


# ---------------------------------------------------------------- 1

def test_client_bucket():
    d = daemon("bucket", limits={"client_burst": "3", "client_rate": "0.01"})
    a, b = "127.0.0.5", "127.0.0.6"
    res = []
    for i in range(3):
        src, tg = fresh("bucket")
        res.append(d.ping(src, tg, timeout=10, client=a))
    t.ok(all(r.ok for r in res), "client_burst=3: the first 3 pingbacks "
         "from %s are accepted" % a, *["%r" % r for r in res])
    mark = d.mark()
    src, tg = fresh("bucket-4th")
    path = src[len(origin.base):]
    r = d.ping(src, tg, timeout=10, client=a)
    fault(r, 49, "the 4th pingback from %s (bucket empty)" % a)
    t.eq(origin.count(path), 0, "the rate-limited pingback's source was "
         "not fetched")
    src, tg = fresh("bucket-b")
    r = d.ping(src, tg, timeout=10, client=b)
    t.ok(r.ok, "a second client address (%s) is not affected" % b,
         "got %r" % (r,))
    st, hdrs, body = d.http("GET", "/other", client=a)
    t.ok(st == 429 and body.strip(), "GET /other from the limited client: "
         "HTTP 429 with a body", "got %r %r %r" % (st, hdrs, body[:100]))
    st, hdrs, body = d.http("GET", "/other", client=b)
    t.eq(st, 404, "GET /other from the other client: 404, not 429")
    r = d.call("system.listMethods", timeout=10, client=a)
    fault(r, 49, "system.listMethods from the limited client")
    t.ok(harness.wait_until(lambda: d.find("http.limit", since=mark,
                                           limit="client_rate", client=a), 2),
         "the refusal is logged (event=http.limit limit=client_rate "
         "client=%s)" % a, *[l.raw for l in d.lines[mark:]])
    hl = d.find("http.limit", since=mark, limit="client_rate", client=a)
    t.eq(len(hl), 1, "three refusals (49, 429, 49) from one client: one "
         "log line, not one per request")
    t.eq(len(fault_lines(d, 49, a, mark)), 0, "no per-request fault line "
         "for a rate-limited client (no log flooding)")
    serves(d, "after the per-client limit", client="127.0.0.7")
    t.check_daemon(d)
    # the bucket refills at client_rate
    d = daemon("refill", limits={"client_burst": "1", "client_rate": "4"})
    c = "127.0.0.8"
    r1 = d.call("system.listMethods", timeout=10, client=c)
    r2 = d.call("system.listMethods", timeout=10, client=c)
    time.sleep(0.4)
    r3 = d.call("system.listMethods", timeout=10, client=c)
    t.ok(r1.ok and r2.fault == 49 and r3.ok, "client_burst=1 "
         "client_rate=4: ok, then 49 at once, ok again 0.4 s later",
         "got %r, %r, %r" % (r1, r2, r3))
    t.check_daemon(d)


# ---------------------------------------------------------------- 2

def test_reflection():
    d = daemon("reflect", limits={"source_host_per_minute": "5"})
    tg = BLOG + "post-reflect"
    clients = ["127.0.0.%d" % i for i in range(10, 20)]
    n = 40
    srcs = [origin.page("/victim/%d" % i, link_page(tg)) for i in range(n)]
    out = [None] * n

    def go(k):
        for j in range(4):
            i = k * 4 + j
            out[i] = d.ping(srcs[i], tg, timeout=20, client=clients[k])
    before = origin.count()
    ths = [threading.Thread(target=go, args=(k,)) for k in range(10)]
    t0 = time.monotonic()
    for th in ths:
        th.start()
    for th in ths:
        th.join(30)
    took = time.monotonic() - t0
    fetched = [h[1] for h in origin.hits() if h[1].startswith("/victim/")]
    oks = [r for r in out if r is not None and r.ok]
    f49 = [r for r in out if r is not None and r.fault == 49]
    t.ok(len(fetched) <= 5, "40 pingbacks from 10 clients, 40 sources on "
         "one host, source_host_per_minute=5: the victim saw at most 5 "
         "requests", "victim requests: %d" % len(fetched))
    t.ok(len(fetched) >= 1 and len(oks) == len(fetched),
         "the fetched ones were accepted", "%d fetched, %d accepted"
         % (len(fetched), len(oks)))
    t.ok(len(oks) + len(f49) == n and len(f49) >= n - 5,
         "the rest (%d) got fault 49" % (n - len(oks)),
         *["%d: %r" % (i, r) for i, r in enumerate(out)
           if r is None or not (r.ok or r.fault == 49)])
    slow = [r for r in f49 if r.elapsed > 1.0]
    t.ok(not slow, "every fault 49 came within 1 s", *map(repr, slow[:5]))
    t.diag("reflection flood: %d pingbacks in %.2f s, victim %d requests "
           "(before: %d)" % (n, took, len(fetched), before))
    # the budget is per host, whatever the port
    o2 = Origin(harness.ORIGIN_HOST)
    src, tg2 = fresh("reflect-port", o2)
    r = d.ping(src, tg2, timeout=10, client="127.0.0.10")
    fault(r, 49, "same host on another port (%d): shares the budget"
          % o2.port)
    t.eq(o2.count(), 0, "... and was not fetched")
    serves(d, "after the reflection flood (source on 127.0.0.4)",
           client="127.0.0.11", o=origin4)
    t.check_daemon(d)


# ---------------------------------------------------------------- 3

def test_fetch_cache():
    d = daemon("cache", limits={"fetch_cache_ttl": "60"})
    gone = origin.not_found("/cache/gone")
    rs = [d.ping(gone, BLOG + "post-cache-gone", timeout=10)
          for _ in range(5)]
    t.ok(all(r.fault == 16 for r in rs), "a 404 source pinged 5 times: "
         "fault 16 each time", *map(repr, rs))
    t.eq(origin.count("/cache/gone"), 1, "fetch_cache_ttl=60: the 404 "
         "source was fetched exactly once")
    t.ok(all(r.elapsed < 1 for r in rs[1:]), "cached faults come at once",
         *map(repr, rs))
    r = d.ping(gone, BLOG + "post-cache-gone-other", timeout=10)
    t.ok(r.fault == 16 and origin.count("/cache/gone") == 1,
         "the failed source, for another target: 16 from the cache, no "
         "fetch", "got %r, %d fetches" % (r, origin.count("/cache/gone")))
    # another spelling of the same URL is the same source
    n = origin.count()
    r = d.ping(origin.url("/cache/%67one"), BLOG + "post-cache-gone",
               timeout=10)
    t.ok(r.fault == 16 and origin.count() == n, "the same source spelt "
         "/cache/%67one: 16 from the cache, not fetched",
         "got %r, new requests %r" % (r, origin.hits()[n:]))
    nolink = origin.page("/cache/nolink", nolink_page())
    ta, tb = BLOG + "post-cache-a", BLOG + "post-cache-b"
    r1 = d.ping(nolink, ta, timeout=10)
    r2 = d.ping(nolink, ta, timeout=10)
    t.ok(r1.fault == 17 and r2.fault == 17, "a page without the link, "
         "pinged twice for one target: 17 twice", "%r %r" % (r1, r2))
    t.eq(origin.count("/cache/nolink"), 1, "... fetched once")
    r3 = d.ping(nolink, tb, timeout=10)
    t.ok(r3.fault == 17 and origin.count("/cache/nolink") == 2,
         "the same page for a different target is fetched again",
         "got %r, %d fetches" % (r3, origin.count("/cache/nolink")))
    # a success is not cached as a failure
    src, tg = fresh("cache-ok")
    t.ok(d.ping(src, tg, timeout=10).ok, "a linking page is accepted "
         "with the cache on")
    t.check_daemon(d)

    d = daemon("nocache", limits={"fetch_cache_ttl": "0"})
    gone = origin.not_found("/nocache/gone")
    rs = [d.ping(gone, BLOG + "post-nocache", timeout=10) for _ in range(3)]
    nolink = origin.page("/nocache/nolink", nolink_page())
    rs += [d.ping(nolink, BLOG + "post-nocache", timeout=10)
           for _ in range(2)]
    t.ok([r.fault for r in rs] == [16, 16, 16, 17, 17],
         "fetch_cache_ttl=0: 16, 16, 16, 17, 17", *map(repr, rs))
    t.ok(origin.count("/nocache/gone") == 3 and
         origin.count("/nocache/nolink") == 2,
         "fetch_cache_ttl=0: every ping fetches", "gone %d, nolink %d"
         % (origin.count("/nocache/gone"), origin.count("/nocache/nolink")))
    t.check_daemon(d)

    d = daemon("ttl1", limits={"fetch_cache_ttl": "1"})
    gone = origin.not_found("/ttl1/gone")
    d.ping(gone, BLOG + "post-ttl1", timeout=10)
    d.ping(gone, BLOG + "post-ttl1", timeout=10)
    n1 = origin.count("/ttl1/gone")
    time.sleep(1.3)
    r = d.ping(gone, BLOG + "post-ttl1", timeout=10)
    t.ok(n1 == 1 and r.fault == 16 and origin.count("/ttl1/gone") == 2,
         "fetch_cache_ttl=1: fetched once within the second, again after it",
         "fetches %d then %d, %r" % (n1, origin.count("/ttl1/gone"), r))
    t.check_daemon(d)


# ---------------------------------------------------------------- 4

def test_block_lists():
    P = origin.port
    limits = {"block_sources": ["spam.example",
                                "http://127.0.0.2:%d/blocked/" % P],
              "block_targets": BLOG + "private/"}
    d = daemon("block", limits=limits, fetch={"timeout": "2"})
    tg = BLOG + "post-block"
    origin.page("/blocked/p", link_page(tg))
    origin.page("/newblock/p", link_page(tg))
    for src in ("http://spam.example/x", "https://spam.example:8443/x",
                "http://a.spam.example/x", "http://SPAM.Example./x",
                origin.url("/blocked/p"), origin.url("/%62locked/p"),
                origin.url("/x/../blocked/p")):
        n = origin.count()
        r = d.ping(src, tg, timeout=10)
        fault(r, 49, "blocked source %s" % src)
        t.eq(origin.count() - n, 0, "... not fetched")
    r = d.ping("http://badspam.example/x", tg, timeout=10)
    t.ok(r.fault is not None and r.fault != 49,
         "badspam.example is not under spam.example: not 49", "got %r" % (r,))
    src = origin.page("/src/block-priv", link_page(BLOG + "private/post"))
    r = d.ping(src, BLOG + "private/post", timeout=10)
    fault(r, 49, "target under block_targets %sprivate/" % BLOG)
    t.eq(origin.count("/src/block-priv"), 0, "... its source not fetched")
    src, tg2 = fresh("block-ok")
    t.ok(d.ping(src, tg2, timeout=10).ok, "an unblocked source and target "
         "are accepted")
    # SIGHUP with changed lists
    d.sections["limits"]["block_sources"] = [
        "spam.example", "http://127.0.0.2:%d/newblock/" % P, "127.0.0.4"]
    harness.write_config(d.conf_path, d.sections)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    line = d.wait_log("config.reloaded", since=mark, timeout=10)
    t.ok(line is not None, "SIGHUP: config.reloaded",
         *[l.raw for l in d.lines[mark:]])
    r = d.ping(origin.url("/blocked/p"), tg, timeout=10)
    t.ok(r.ok, "after SIGHUP: the source no longer listed is accepted",
         "got %r" % (r,))
    n = origin.count()
    r = d.ping(origin.url("/newblock/p"), tg, timeout=10)
    fault(r, 49, "after SIGHUP: a newly listed URL prefix")
    t.eq(origin.count() - n, 0, "... not fetched")
    src, tg3 = fresh("block-ip", origin4)
    for s in (src, src.replace("127.0.0.4", "[::ffff:127.0.0.4]")):
        r = d.ping(s, tg3, timeout=10)
        fault(r, 49, "after SIGHUP: new IP entry 127.0.0.4 blocks %s" % s)
    t.eq(origin4.count(src[len(origin4.base):]), 0, "... not fetched")
    r = d.ping("http://a.spam.example/y", tg, timeout=10)
    fault(r, 49, "after SIGHUP: the kept domain entry still blocks")
    serves(d, "after the block lists")
    t.check_daemon(d)


# ---------------------------------------------------------------- 5

def test_slowloris():
    d = daemon("slow", server={"read_timeout": "2", "keepalive_timeout": "2"})
    mark = d.mark()
    first = b"POST /xmlrpc HTTP/1.1\r\nHost: pbd.test\r\n"
    took, got = trickle(d, "127.0.0.20", first, b"X-Slow: " + b"a" * 200)
    t.ok(took is not None and 1.5 <= took <= 5.0, "slowloris headers (a "
         "byte every 0.5 s), read_timeout=2: closed within 2-5 s",
         "closed after %r s, got %r" % (took, got[:80]))
    t.ok(d.wait_log("http.limit", since=mark, timeout=2, limit="read_timeout",
                    client="127.0.0.20"),
         "event=http.limit limit=read_timeout client=127.0.0.20 logged",
         *[l.raw for l in d.lines[mark:]])
    body = method_call("system.listMethods").encode()
    body = (body + b" " * 100)[:100]
    head = (b"POST /xmlrpc HTTP/1.1\r\nHost: pbd.test\r\nContent-Type: "
            b"text/xml\r\nContent-Length: 100\r\n\r\n")
    took, got = trickle(d, "127.0.0.21", head, body)
    t.ok(took is not None and 1.5 <= took <= 5.0, "slow body (Content-Length "
         "100, a byte every 0.5 s): closed within 2-5 s",
         "closed after %r s, got %r" % (took, got[:80]))
    t.ok(not got.startswith(b"HTTP/1.1 200"), "the slow body was not "
         "served", "got %r" % got[:80])
    # a slow request that completes within read_timeout is served
    s = connect_from(d, "127.0.0.24")
    try:
        req = request_bytes(method_call("system.listMethods").encode())
        third = len(req) // 3
        for k in range(3):
            s.sendall(req[k * third:(k + 1) * third if k < 2 else None])
            time.sleep(0.35)
        st, _, _ = read_response(s, 5)
    finally:
        s.close()
    t.eq(st, 200, "a request trickled in 3 parts over ~1 s is served")

    # 50 slowloris connections from one client, normal traffic meanwhile
    mark = d.mark()
    bad = "127.0.0.22"
    before = d.rss_kib()
    socks, closed = [], {}
    t0 = time.monotonic()
    for i in range(50):
        s = connect_from(d, bad)
        s.sendall(first)
        socks.append(s)
    done = threading.Event()
    lat, results = [], []

    def normal():
        src, tg = fresh("slow-normal")
        results.append(d.ping(src, tg, timeout=10, client="127.0.0.23"))
        while not done.is_set() and len(lat) < 100:
            r = d.call("system.listMethods", timeout=10, client="127.0.0.23")
            lat.append(r.elapsed if r.ok else 99.0)
            done.wait(0.1)
    th = threading.Thread(target=normal)
    th.start()
    try:
        while len(closed) < len(socks) and time.monotonic() - t0 < 8:
            open_ = [s for s in socks if s not in closed]
            r, _, _ = select.select(open_, [], [], 0.5)
            for s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed[s] = time.monotonic() - t0
            for s in open_:
                if s not in closed:
                    try:
                        s.send(b"a")
                    except OSError:
                        closed[s] = time.monotonic() - t0
    finally:
        done.set()
        th.join(15)
        for s in socks:
            s.close()
    times = sorted(closed.values())
    t.ok(len(closed) == 50 and times[-1] <= 5.0, "50 slowloris "
         "connections from one client: all closed within 5 s",
         "%d closed, last after %s s" % (len(closed),
                                          times[-1] if times else None))
    n = len(limit_lines(d, "read_timeout", bad, mark))
    t.ok(1 <= n <= 2, "... logged as limit=read_timeout client=%s 1-2 "
         "times, not 50" % bad, "%d lines" % n)
    t.ok(results and results[0].ok, "a pingback from another client "
         "meanwhile is accepted", "got %r" % (results,))
    t.ok(lat and max(lat) <= 1.0, "normal requests meanwhile answered "
         "within 1 s", "%d calls, max %.3f s" % (len(lat), max(lat or [0])))
    rss_check(d, before, d.rss_kib(), "50 slowloris connections")
    serves(d, "after the slowloris connections", client=bad)
    t.check_daemon(d)


# ---------------------------------------------------------------- 6

def test_keepalive_idle():
    # read_timeout far above keepalive_timeout: a close within 5 s can
    # only be keepalive_timeout's.  (A connection the sweep loses track
    # of while an answer is being written gets neither deadline: see
    # test_unread_answers, which provokes that on purpose.)
    d = daemon("ka", server={"read_timeout": "10", "keepalive_timeout": "2"})
    req = request_bytes(method_call("system.listMethods").encode())
    s = connect_from(d, "127.0.0.25")
    try:
        s.sendall(req)
        st1, h1, _ = read_response(s, 5)
        time.sleep(0.5)
        s.sendall(req)
        st2, h2, _ = read_response(s, 5)
        t.ok(st1 == 200 and st2 == 200, "two requests on one keep-alive "
             "connection (0.5 s apart): both served", "%r %r" % (st1, st2))
        took = wait_closed(s, 8)
    finally:
        s.close()
    t.ok(took is not None and 1.5 <= took <= 5.0, "keepalive_timeout=2 "
         "(read_timeout=10): the idle connection is closed within 2-5 s",
         "closed after %r s" % took)
    # a keep-alive connection trickling its next request gets no longer
    s = connect_from(d, "127.0.0.26")
    try:
        s.sendall(req)
        st, _, _ = read_response(s, 5)
        t0 = time.monotonic()
        took = None
        for b in req[:40]:
            r, _, _ = select.select([s], [], [], 0.5)
            if r:
                try:
                    if not s.recv(4096):
                        took = time.monotonic() - t0
                        break
                except OSError:
                    took = time.monotonic() - t0
                    break
            try:
                s.send(bytes([b]))
            except OSError:
                took = time.monotonic() - t0
                break
        if took is None:
            took = wait_closed(s, 1)
            took = None if took is None else time.monotonic() - t0
    finally:
        s.close()
    t.ok(st == 200 and took is not None and took <= 5.0,
         "keep-alive connection trickling its next request: closed within "
         "keepalive_timeout + slack", "served %r, closed after %r s"
         % (st, took))
    serves(d, "after keep-alive timeouts")
    t.check_daemon(d)


# ---------------------------------------------------------------- 7

def test_many_idle():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < 3300:
        t.skip("3000 idle connections", "RLIMIT_NOFILE %d < 3300" % soft)
        return
    cap, rt = 1000, 2
    d = daemon("idle", server={"max_connections": str(cap),
                               "read_timeout": str(rt),
                               "keepalive_timeout": "2"})
    host, port = d.hostport()
    base_socks = d.fds("socket:")
    before = d.rss_kib()
    mark = d.mark()
    flood = []
    errs = {}

    def open_n(n):
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind(("127.0.0.30", 0))
                rc = s.connect_ex((host, port))
            except OSError as e:
                rc = e.errno
            if rc not in (0, errno.EINPROGRESS):
                errs[rc] = errs.get(rc, 0) + 1
            flood.append(s)
    samp = Sampler(d, sockets=True)
    t0 = time.monotonic()
    pb = []
    try:
        open_n(cap)
        at_cap = harness.wait_until(
            lambda: (d.fds("socket:") or 0) - base_socks >= cap, 5, 0.05)
        t.ok(at_cap, "the first %d idle connections are accepted" % cap,
             "daemon sockets: %r (baseline %d)" % (d.fds("socket:"),
                                                    base_socks))
        # at the cap: this one waits in the kernel queue
        src, tg = fresh("idle")
        th = threading.Thread(target=lambda: pb.append(
            d.ping(src, tg, timeout=15, client="127.0.0.31")))
        th.start()
        time.sleep(0.3)
        open_n(3000 - cap)
        t_open = time.monotonic() - t0
        th.join(rt + 8)
        r = pb[0] if pb else None
        t.ok(r is not None and r.ok, "a pingback made at the cap is answered",
             "got %r" % (r,))
        t.ok(r is not None and 0.5 <= r.elapsed <= rt + 3,
             "... after waiting in the kernel queue, within read_timeout+3 s",
             "took %s s" % (r.elapsed if r else None))
        # the idle ones are shed after read_timeout
        poller = select.poll()
        fdmap = {}
        for s in flood:
            poller.register(s.fileno(), select.POLLIN)
            fdmap[s.fileno()] = s
        shed = set()
        end = t0 + rt + 5
        while len(shed) < cap and time.monotonic() < end:
            for fd, ev in poller.poll(200):
                s = fdmap[fd]
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    shed.add(fd)
                    poller.unregister(fd)
        t_shed = time.monotonic() - t0
        t.ok(len(shed) >= cap, "the idle connections are shed after "
             "read_timeout=%d" % rt, "%d shed after %.1f s" %
             (len(shed), t_shed))
    finally:
        samp.stop()
    held = samp.max_socks - base_socks
    t.diag("3000 connects in %.2f s (errors %r); daemon held at most %d "
           "connections; %d shed by %.1f s" % (t_open, errs, held,
                                              len(shed), t_shed))
    t.ok(held <= cap + 8, "the daemon never held more than max_connections"
         "=%d connections (+ its fetches)" % cap,
         "max sockets %d, baseline %d" % (samp.max_socks, base_socks))
    n = len(limit_lines(d, "max_connections", "*", mark))
    t.eq(n, 1, "one event=http.limit limit=max_connections client=* line")
    n = len(limit_lines(d, "read_timeout", "127.0.0.30", mark))
    t.ok(1 <= n <= 2, "limit=read_timeout logged 1-2 times for the flooding "
         "client, not once a connection", "%d lines" % n)
    rss_check(d, before, samp.max_rss, "3000 idle connections")
    for s in flood:
        s.close()
    src, tg = fresh("idle-after")
    r = d.ping(src, tg, timeout=10, client="127.0.0.32")
    t.ok(r.ok and r.elapsed < 2.0, "after closing them all: a pingback is "
         "answered at once", "got %r" % (r,))
    t.check_daemon(d)


# ---------------------------------------------------------------- 8

def test_max_headers():
    d = daemon("hdrs", server={"max_headers": "64"})
    body = method_call("system.listMethods").encode()
    mark = d.mark()
    client = "127.0.0.40"

    def with_lines(total):
        # request_bytes sends Host, Content-Type and Content-Length
        extra = [b"X-H-%d: v" % i for i in range(total - 3)]
        s = connect_from(d, client)
        try:
            s.sendall(request_bytes(body, extra))
            return read_response(s, 5)
        finally:
            s.close()
    res = {}
    for total in (100, 65, 64, 60):
        res[total] = with_lines(total)
    st, hdrs, b = res[100]
    t.ok(st == 431 and b.strip(), "100 header lines, max_headers=64: HTTP "
         "431 with a body", "got %r %r %r" % (st, hdrs, b[:100]))
    t.eq(res[65][0], 431, "65 header lines: 431")
    t.eq(res[64][0], 200, "64 header lines: served")
    t.eq(res[60][0], 200, "60 header lines: served")
    n = len(limit_lines(d, "max_headers", client, mark))
    t.eq(n, 1, "two 431s from one client: one limit=max_headers line")
    serves(d, "after the 431s", client=client)
    t.check_daemon(d)


# ---------------------------------------------------------------- 9

def test_endless_source():
    d = daemon("endless", fetch={"timeout": "2", "max_bytes": "8388608",
                                 "max_per_host": "8", "max_concurrent": "32"})
    before = d.rss_kib()
    samp = Sampler(d)
    tg = BLOG + "post-endless"
    fast = origin.stream("/src/endless-fast", chunk=b"<p>%s</p>\n" %
                         (b"x" * 65000), max_time=20)
    fast_info = origin.stream_info
    slow = origin.stream("/src/endless-slow", interval=0.02,
                         chunk=b"<p>%s</p>\n" % (b"y" * 16000), max_time=20)
    slow_info = origin.stream_info
    out = {}

    def go(key, src, target):
        out[key] = d.ping(src, target, timeout=20)
    ths = [threading.Thread(target=go, args=("fast", fast, tg)),
           threading.Thread(target=go, args=("slow", slow, tg))]
    for th in ths:
        th.start()
    harness.wait_until(lambda: origin.count("/src/endless-slow") > 0, 5)
    srcs = []
    for i in range(20):
        tgi = BLOG + "post-endless-other-%d" % i
        srcs.append((origin.slow("/src/endless-other-%d" % i,
                                 link_page(tgi), 0.2), tgi))
    for i, (s, tgi) in enumerate(srcs):
        ths.append(threading.Thread(target=go, args=(i, s, tgi)))
        ths[-1].start()
    for th in ths:
        th.join(30)
    samp.stop()
    others = [out.get(i) for i in range(20)]
    t.ok(all(r is not None and r.ok for r in others), "20 pingbacks "
         "alongside two endless sources: all accepted",
         *["%d: %r" % (i, r) for i, r in enumerate(others)
           if r is None or not r.ok])
    for key, desc in (("fast", "endless source at full speed (max_bytes "
                       "8 MiB)"), ("slow", "endless source at ~800 kB/s "
                                   "(fetch.timeout=2)")):
        r = out.get(key)
        t.ok(r is not None and r.fault == 16 and r.elapsed <= 2 + 2.5,
             "%s: fault 16 within fetch.timeout + 2.5 s" % desc,
             "got %r" % (r,))
    for info, name in ((fast_info, "fast"), (slow_info, "slow")):
        ended = harness.wait_until(lambda: info["ended"], 5)
        t.ok(ended and ended[0] == "client gone", "the daemon hung up on "
             "the %s endless source" % name, "ended %r, sent %d bytes"
             % (ended, info["sent"]))
    rss_check(d, before, samp.max_rss, "endless sources")
    serves(d, "after the endless sources")
    t.check_daemon(d)


# ---------------------------------------------------------------- 10

def pipeline(d, client, n, trickle=0.0, rcvbuf=4096, limit=6.0):
    """Connect from client with a small receive buffer and pipeline n
    system.listMethods requests (50 every 5 ms), then one more every
    5 ms for trickle seconds, without reading any answer.  Stop early
    once the daemon has taken nothing for 0.5 s.  Return (socket,
    requests sent)."""
    req = request_bytes(method_call("system.listMethods").encode())
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((client, 0))
    s.settimeout(5)
    s.connect(d.hostport())
    s.setblocking(False)
    t0 = time.monotonic()
    sent = 0
    t_trickle = None
    while time.monotonic() - t0 < limit:
        if sent >= n:
            t_trickle = t_trickle or time.monotonic()
            if time.monotonic() - t_trickle >= trickle:
                break
        batch = req * (min(50, n - sent) if sent < n else 1)
        off, blocked = 0, None
        while off < len(batch):
            try:
                off += s.send(batch[off:])
                blocked = None
            except BlockingIOError:
                blocked = blocked or time.monotonic()
                if time.monotonic() - blocked > 0.5 or \
                        time.monotonic() - t0 > limit:
                    break
                time.sleep(0.005)
        sent += off // len(req)
        if off < len(batch):
            break
        time.sleep(0.005)
    return s, sent


def stop_quickly(d, who):
    """SIGTERM with nothing in flight: the daemon must exit at once, not
    after its grace time (2 x fetch.timeout + 5 s) for answers that can
    no longer be delivered."""
    time.sleep(0.3)
    t0 = time.monotonic()
    d.stop()
    took = time.monotonic() - t0
    t.ok(took < 2.0, "after %s closed: SIGTERM exits within 2 s" % who,
         "took %.2f s; %s" % (took, " ".join(
             l.raw for l in d.lines if l.event in ("stopping", "stopped"))))
    t.check_daemon(d)


def test_unread_answers():
    # Answers nobody reads: the daemon's writes block (some 2 MB of
    # answers fill the socket buffers), the connections stay open.
    n = 6000
    d = daemon("unread", server={"max_connections": "2", "read_timeout": "2",
                                 "keepalive_timeout": "2"},
               fetch={"timeout": "1"})
    base = d.fds("socket:")
    stuck = []
    try:
        for i in range(2):
            stuck.append(pipeline(d, "127.0.0.50", n)[0])
        time.sleep(0.6)
        # a third connection: it may be served only if the daemon has
        # closed one of the two
        third = connect_from(d, "127.0.0.51")
        stuck.append(third)
        third.sendall(request_bytes(method_call(
            "system.listMethods").encode()))
        st, _, _ = read_response(third, 1.5)
        held = d.fds("socket:") - base
        t.diag("third connection while 2 do not read: status %r" % st)
        t.ok(held <= 2, "max_connections=2, two connections not reading "
             "their pipelined answers and a third: the daemon holds at "
             "most 2", "daemon sockets %d over its baseline %d; the "
             "third got %r" % (held, base, st))
    finally:
        for s in stuck:
            s.close()
    r = d.call("system.listMethods", timeout=5, client="127.0.0.51")
    t.ok(r.ok and r.elapsed < 2, "once they close, a new connection is "
         "served at once", "got %r" % (r,))
    stop_quickly(d, "the non-reading clients")

    # A client that pipelines and reads late gets every answer.
    d = daemon("pipeline", server={"read_timeout": "10",
                                   "keepalive_timeout": "10"},
               fetch={"timeout": "1"})
    s, sent = pipeline(d, "127.0.0.52", n, trickle=1.0)
    mark = b"HTTP/1.1 200"
    answers, tail = 0, b""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setblocking(True)
        end = time.monotonic() + 8
        while answers < sent and time.monotonic() < end:
            s.settimeout(max(0.1, min(2.0, end - time.monotonic())))
            try:
                chunk = s.recv(1 << 20)
            except OSError:
                break
            if not chunk:
                break
            buf = tail + chunk
            answers += buf.count(mark)
            tail = buf[-(len(mark) - 1):]
    finally:
        s.close()
    t.eq(answers, sent, "%d pipelined requests, the "
         "answers read only after the last was sent: every one answered"
         % sent)
    serves(d, "after the pipelined requests")
    stop_quickly(d, "the pipelining client")


t.run(test_client_bucket)
t.run(test_reflection)
t.run(test_fetch_cache)
t.run(test_block_lists)
t.run(test_slowloris)
t.run(test_keepalive_idle)
t.run(test_many_idle)
t.run(test_max_headers)
t.run(test_endless_source)
t.run(test_unread_answers)
sys.exit(t.done())
