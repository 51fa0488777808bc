#!/usr/bin/env python3
"""Hostile requests: entity expansion and external entities, deep
nesting, non-XML, truncated XML, invalid UTF-8, bad arity and types,
unknown methods, system.multicall, wrong HTTP methods and paths, header
floods, oversized URLs, and log injection through URLs and titles.
The daemon must answer each with a fault (or an HTTP error), quickly, and
keep serving."""

import http.client
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG, method_call  # noqa: E402
from origin import link_page, Canary, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_hostile")
tmp = harness.mktmp("hostile")
origin = Origin(harness.ORIGIN_HOST)
canary = Canary("127.0.0.1", BLOG + "post-canary")
d = harness.Daemon(tmp, harness.base_config(
    tmp, server={"max_body": "1048576"}), name="hostile")
t.start(d)
n_valid = [0]


def still_serves(desc):
    n_valid[0] += 1
    tg = BLOG + "post-alive-%d" % n_valid[0]
    src = origin.page("/src/alive-%d" % n_valid[0], link_page(tg))
    r = d.ping(src, tg)
    t.ok(r.ok, "valid pingback still served after %s" % desc,
         "got %r" % (r,))


def fault0(body, desc, max_s=5, codes=(0,)):
    """POST body; expect HTTP 200 with an XML-RPC fault, quickly."""
    try:
        st, r, raw = d.post_xml(body, timeout=max_s + 10)
    except (OSError, Exception) as e:  # noqa: B014
        t.ok(False, "%s: fault %s" % (desc, codes), "error %r" % e)
        return None
    t.ok(st == 200 and r.fault in codes and bool(r.fault_string),
         "%s: HTTP 200 with fault %s and a message"
         % (desc, "/".join(map(str, codes))),
         "status %r, %r" % (st, r), "body %r" % raw[:300])
    return r


PING_TMPL = ("<?xml version=\"1.0\"?>\n%s<methodCall><methodName>pingback.ping"
             "</methodName><params><param><value><string>%s</string></value>"
             "</param><param><value><string>" + BLOG + "post-x</string>"
             "</value></param></params></methodCall>")


def test_entities():
    lol = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
    for i in range(1, 10):
        lol += "<!ENTITY lol%d \"%s\">" % (
            i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
    lol += "]>\n"
    t0 = time.monotonic()
    r = fault0(PING_TMPL % (lol, "&lol9;"), "billion laughs")
    t.ok(time.monotonic() - t0 < 3, "billion laughs refused quickly")
    still_serves("billion laughs")
    xxe = "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
    r = fault0(PING_TMPL % (xxe, "&xxe;"), "external entity file:///etc/passwd")
    t.ok(r is not None and "root:" not in (r.fault_string or ""),
         "no file content in the fault")
    dtd = "<!DOCTYPE x SYSTEM \"http://127.0.0.1:%d/x.dtd\">\n" % canary.port
    fault0(PING_TMPL % (dtd, "http://a.example/"), "external DTD over HTTP")
    pe = ("<!DOCTYPE x [<!ENTITY %% p SYSTEM \"http://127.0.0.1:%d/p\"> %%p;]>"
          "\n" % canary.port)
    fault0(PING_TMPL % (pe, "http://a.example/"), "parameter entity")
    t.eq(canary.seen(), (0, 0), "no DTD or entity fetched from the canary")
    still_serves("entity bodies")


def test_nesting():
    depth = 10000
    body = ("<?xml version=\"1.0\"?><methodCall><methodName>pingback.ping"
            "</methodName><params><param>" +
            "<value><array><data>" * depth + "<value>x</value>" +
            "</data></array></value>" * depth + "</param><param><value>"
            "<string>%s</string></value></param></params></methodCall>"
            % (BLOG + "p"))
    fault0(body, "%d-deep <array> nesting" % depth)
    body = ("<?xml version=\"1.0\"?><methodCall><methodName>pingback.ping"
            "</methodName><params><param>" +
            "<value><struct><member><name>a</name>" * 2000 +
            "<value>x</value>" + "</member></struct></value>" * 2000 +
            "</param></params></methodCall>")
    fault0(body, "2000-deep <struct> nesting")
    deep = "<a>" * 20000 + "</a>" * 20000
    fault0("<?xml version=\"1.0\"?>" + deep, "20000-deep plain XML")
    still_serves("deep nesting")


def test_malformed():
    fault0(b"this is not XML at all", "non-XML body")
    fault0(b"", "empty body")
    fault0(b"{\"method\": \"pingback.ping\"}", "JSON body")
    good = method_call("pingback.ping", "http://a.example/", BLOG + "p")
    fault0(good[:len(good) // 2], "truncated XML")
    fault0(good.replace("</methodName>", ""), "unclosed element")
    fault0("<?xml version=\"1.0\"?><methodResponse><params><param><value>x"
           "</value></param></params></methodResponse>",
           "a methodResponse instead of a methodCall")
    bad = good.replace("http://a.example/", "http://a.example/\udcff\udcfe")
    fault0(bad.encode("utf-8", "surrogateescape"), "invalid UTF-8 (0xff 0xfe)")
    bad = good.replace("http://a.example/", "http://a.example/\udcc0\udcaf")
    fault0(bad.encode("utf-8", "surrogateescape"),
           "invalid UTF-8 (overlong 0xc0 0xaf)")
    bad = good.replace("http://a.example/", "http://a.example/\udced\udca0"
                       "\udc80")
    fault0(bad.encode("utf-8", "surrogateescape"),
           "invalid UTF-8 (encoded surrogate)")
    r = d.post_xml(good.replace("http://a.example/",
                                "http://127.0.0.2/a&#0;b"))[1]
    t.ok(r.fault is not None, "&#0; in a string: a fault", "got %r" % (r,))
    fault0(good.replace("pingback.ping", ""), "empty methodName")
    fault0(good.replace("<string>", "<string>").replace(
        "<params>", "<params><param><value><nil/></value></param>"),
        "three parameters, one nil")
    fault0(good.replace("<string>", "<base64>").replace("</string>",
                                                        "</base64>"),
           "base64 parameters")
    fault0(method_call("pingback.ping", {"a": "b"}, BLOG + "p"),
           "struct source")
    fault0(method_call("pingback.ping", 3.5, True), "double and boolean")
    fault0(method_call("pingback.pingx", "a", "b"), "unknown method")
    fault0(method_call("pingback.extensions.getPingbacks"),
           "getPingbacks without arguments")
    still_serves("malformed bodies")


def test_multicall():
    calls = []
    for i in range(500):
        calls.append({"methodName": "pingback.ping",
                      "params": [origin.url("/src/mc-%d" % i),
                                 BLOG + "post-mc-%d" % i]})
    body = method_call("system.multicall", calls)
    n = origin.count()
    st, r, raw = d.post_xml(body, timeout=20)
    t.ok(st == 200 and r.fault is not None and r.fault_string,
         "system.multicall with 500 calls: refused with a fault",
         "status %r, %r" % (st, r))
    t.eq(origin.count() - n, 0, "no source fetched through multicall")
    still_serves("system.multicall")


def test_http_methods():
    st, hdrs, body = d.http("GET", "/xmlrpc")
    t.ok(st == 405 and body.strip() and
         hdrs.get("content-type", "").startswith("text/"),
         "GET on the XML-RPC path: 405 with a text body",
         "got %r %r %r" % (st, hdrs.get("content-type"), body[:100]))
    st, hdrs, body = d.http("PUT", "/xmlrpc", b"x")
    t.eq(st, 405, "PUT on the XML-RPC path: 405")
    st, hdrs, body = d.http("GET", "/nope")
    t.ok(st == 404 and body.strip(), "GET on an unknown path: 404 with a body",
         "got %r %r" % (st, body[:100]))
    good = method_call("system.listMethods")
    st, hdrs, body = d.http("POST", "/xmlrpc/../other", good)
    t.ok(st in (404, 400), "POST on another path: 404",
         "got %r" % st)
    st, hdrs, body = d.http("POST", "/XMLRPC", good)
    t.eq(st, 404, "path match is exact (/XMLRPC): 404")
    st, hdrs, body = d.http("POST", "/xmlrpc?x=1", good,
                            {"Content-Type": "text/xml"})
    t.ok(st in (200, 404), "query string on the path: answered",
         "got %r" % st)


def test_header_flood():
    host, port = d.hostport()
    s = socket.create_connection((host, port), timeout=10)
    data = b""
    try:
        req = b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\n"
        req += b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 200)
                        for i in range(200))
        req += b"Content-Length: 0\r\n\r\n"
        try:
            s.sendall(req)
        except OSError:
            pass
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        data = data or b"closed: %r" % e
    finally:
        s.close()
    t.ok(not data.startswith(b"HTTP/1.1 200") and not data.startswith(
        b"HTTP/1.0 200"), "40 KB of request headers: refused",
        "got %r" % data[:80])
    still_serves("a header flood")


def test_long_urls():
    tg = BLOG + "post-long"
    r = d.ping(origin.url("/src/" + "a" * 3000), tg)
    t.ok(r.fault is not None and r.fault_string,
         "source URL over 2048 bytes: a fault", "got %r" % (r,))
    t.eq(origin.count("/src/" + "a" * 3000), 0,
         "the over-long source URL was not fetched")
    r = d.ping(origin.url("/src/x"), BLOG + "b" * 3000)
    t.ok(r.fault in (0, 33), "target URL over 2048 bytes: fault 0 or 33",
         "got %r" % (r,))


def test_log_injection():
    mark = d.mark()
    forged = "level=err event=forged"
    srcs = [origin.url("/inj%0a" + forged.replace(" ", "%20")),
            origin.url("/inj\n" + forged),
            origin.url("/inj\r\n" + forged),
            origin.url("/inj\" event=forged x=\""),
            "http://a.invalid/\" level=err event=forged\n" + forged]
    for s in srcs:
        d.ping(s, BLOG + "post-inj")
    tg = BLOG + "post-inj-title"
    title = "Hi\n" + forged + " \"quoted\" event=forged\\"
    src = origin.page("/src/inj-title.html", (
        "<html><head><title>%s</title></head><body><a href=\"%s\">x</a>"
        "</body></html>" % (title, tg)).encode())
    r = d.ping(src, tg)
    t.ok(r.ok, "page with a newline and key=value in its title accepted",
         "got %r" % (r,))
    d.ping(origin.url("/src/esc\x1b[31mred"), tg)
    # the log is read by another thread: let it catch up with the answers
    d.wait_log("pingback.accepted", since=mark, timeout=3, source=src)
    lines = d.lines[mark:]
    forged_lines = [l.raw for l in lines if l.event == "forged" or
                    l.raw.lstrip().startswith(forged)
                    or "event" in l.dups or "level" in l.dups]
    t.eq(forged_lines, [], "no forged log line or key")
    bad = [l.raw for l in lines if not l.wellformed]
    t.eq(bad, [], "every log line is well-formed logfmt")
    ctl = [l.raw for l in lines if any(ord(c) < 0x20 for c in l.raw)]
    t.eq(ctl, [], "no control characters in log lines")
    acc = d.find("pingback.accepted", since=mark, source=src)
    t.ok(len(acc) == 1 and acc[0].get("source") == src,
         "accepted line keeps its own source and target",
         *[l.raw for l in acc])


def test_client_hangs_up():
    tg = BLOG + "post-hangup"
    path = "/src/hangup"
    src = origin.slow(path, link_page(tg), delay=1.5)
    host, port = d.hostport()
    body = method_call("pingback.ping", src, tg).encode()
    mark = d.mark()
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml"
              b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    harness.wait_until(lambda: origin.count(path) > 0, 10)
    s.close()
    line = d.wait_log(None, since=mark, timeout=10, source=src)
    t.ok(line is not None, "client gone during the fetch: the outcome is "
         "still logged", *[l.raw for l in d.lines[mark:]])
    t.ok(d.running(), "daemon alive after a client hung up mid-pingback")
    # many at once, half of them hanging up
    socks = []
    for i in range(20):
        tgi = BLOG + "post-hangup-%d" % i
        srci = origin.slow("/src/hangup-%d" % i, link_page(tgi), 0.5)
        b = method_call("pingback.ping", srci, tgi).encode()
        c = socket.create_connection((host, port), timeout=10)
        c.sendall(b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"text/xml\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(b), b))
        socks.append(c)
    for c in socks[::2]:
        c.close()
    answered = 0
    for c in socks[1::2]:
        try:
            if c.recv(12).startswith(b"HTTP/1.1 200"):
                answered += 1
        except OSError:
            pass
        c.close()
    t.eq(answered, 10, "20 concurrent pingbacks, 10 hung up: the other 10 "
         "answered")
    still_serves("clients hanging up")


def test_connection_reuse():
    host, port = d.hostport()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        st = []
        for i in range(3):
            conn.request("POST", "/xmlrpc", method_call("system.listMethods"),
                         {"Content-Type": "text/xml"})
            resp = conn.getresponse()
            resp.read()
            st.append(resp.status)
    finally:
        conn.close()
    t.eq(st, [200, 200, 200], "three calls over one keep-alive connection")
    body = method_call("system.listMethods").encode()
    s = socket.create_connection((host, port), timeout=10)
    data = b""
    try:
        s.sendall(b"POST /xmlrpc HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"text/xml\r\nExpect: 100-continue\r\nContent-Length: "
                  b"%d\r\n\r\n" % len(body))
        data = s.recv(100)
        if data.startswith(b"HTTP/1.1 100"):
            s.sendall(body)
            data = s.recv(100)
    except OSError as e:
        data = b"error %r" % e
    finally:
        s.close()
    t.ok(data.startswith(b"HTTP/1.1 200"), "Expect: 100-continue works",
         "got %r" % data[:60])


def test_credentials_not_logged():
    mark = d.mark()
    src = "http://pbuser:S3cretPass@%s:%d/src/x" % (harness.ORIGIN_HOST,
                                                   origin.port)
    r = d.ping(src, BLOG + "post-cred")
    t.ok(r.fault == 16, "source with user:password: fault 16",
         "got %r" % (r,))
    d.wait_log(None, since=mark, timeout=3, fault="16")
    leaked = [l.raw for l in d.lines[mark:] if "S3cretPass" in l.raw]
    t.eq(leaked, [], "the URL's password does not appear in the log")


with harness.RssWatch(t, d, 'entities'):
    t.run(test_entities)
with harness.RssWatch(t, d, 'nesting'):
    t.run(test_nesting)
with harness.RssWatch(t, d, 'malformed'):
    t.run(test_malformed)
with harness.RssWatch(t, d, 'multicall'):
    t.run(test_multicall)
with harness.RssWatch(t, d, 'http_methods'):
    t.run(test_http_methods)
with harness.RssWatch(t, d, 'header_flood'):
    t.run(test_header_flood)
with harness.RssWatch(t, d, 'long_urls'):
    t.run(test_long_urls)
with harness.RssWatch(t, d, 'log_injection'):
    t.run(test_log_injection)
with harness.RssWatch(t, d, 'client_hangs_up'):
    t.run(test_client_hangs_up)
with harness.RssWatch(t, d, 'connection_reuse'):
    t.run(test_connection_reuse)
with harness.RssWatch(t, d, 'credentials_not_logged'):
    t.run(test_credentials_not_logged)
t.ok(d.running(), "daemon survived every hostile request")
sys.exit(t.done())
