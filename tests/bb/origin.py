#!/usr/bin/env python3
"""The local web servers of the black-box tests.

Origin serves the source pages a test registers (static pages, fixtures,
redirects, slow and endless answers) on a loopback address, records every
request, and counts how many it handles at once.  Canary is an Origin that
is never supposed to be reached: it counts every connection it accepts.
"""

import http.server
import os
import socket
import threading
import time

try:
    import harness
except ImportError:  # pragma: no cover
    harness = None

MAX_STREAM_S = 30       # an endless answer ends after this, whatever happens


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 64

    def verify_request(self, request, client_address):
        with self.origin.lock:
            self.origin.connections += 1
            self.origin.peers.append(client_address)
        return True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10        # socket timeout: a stuck client cannot hold us

    def log_message(self, fmt, *args):
        pass

    def _route(self):
        o = self.server.origin
        path = self.path
        r = o.routes.get(path)
        if r is None:
            r = o.routes.get(path.split("?", 1)[0])
        if r is None and o.default is not None:
            r = o.default
        return r

    def do_GET(self):
        o = self.server.origin
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        with o.lock:
            o.requests.append((self.command, self.path, hdrs))
            o.active += 1
            o.max_active = max(o.max_active, o.active)
        try:
            r = self._route()
            if r is None:
                self._send(404, b"not found\n", "text/plain")
            else:
                r(self)
        except (BrokenPipeError, ConnectionResetError, socket.timeout,
                TimeoutError):
            pass
        finally:
            with o.lock:
                o.active -= 1
                o.finished.append((self.path, time.monotonic()))

    do_HEAD = do_GET
    do_POST = do_GET

    def _send(self, status, body, ctype, headers=None):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)
            self.wfile.flush()


class Origin:
    """A ThreadingHTTPServer on host:port (port 0: any free port)."""

    def __init__(self, host="127.0.0.2", port=0):
        cls = _Server6 if ":" in host else _Server
        self.host = host
        self.routes = {}
        self.default = None
        self.requests = []
        self.finished = []
        self.peers = []
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = cls((host, port), _Handler)
        self.server.origin = self
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        if harness is not None:
            harness.at_cleanup(self.close)

    @property
    def base(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d" % (h, self.port)

    def url(self, path):
        return self.base + path

    def close(self):
        if not self.stopping.is_set():
            self.stopping.set()
            self.server.shutdown()
            self.server.server_close()

    # -- routes; each returns the route's absolute URL

    def page(self, path, body, ctype="text/html; charset=utf-8", status=200,
             headers=None, delay=0.0):
        if isinstance(body, str):
            body = body.encode("utf-8")

        def h(req):
            if delay:
                self.stopping.wait(delay)
            req._send(status, body, ctype, headers)
        self.routes[path] = h
        return self.url(path)

    def slow(self, path, body, delay, ctype="text/html; charset=utf-8"):
        return self.page(path, body, ctype, delay=delay)

    def fixture(self, path, name, ctype="text/html", **subst):
        return self.page(path, fixture(name, **subst), ctype)

    def not_found(self, path):
        return self.page(path, b"no such page\n", "text/plain", status=404)

    def redirect(self, path, location, status=302):
        def h(req):
            req._send(status, b"moved\n", "text/plain",
                      {"Location": location})
        self.routes[path] = h
        return self.url(path)

    def chain(self, prefix, n, final):
        """n redirects: prefix/0 -> prefix/1 -> ... -> prefix/(n-1) -> final.
        Return the first URL (final itself when n == 0)."""
        if n == 0:
            return final
        for i in range(n):
            nxt = final if i == n - 1 else self.url("%s/%d" % (prefix, i + 1))
            self.redirect("%s/%d" % (prefix, i), nxt)
        return self.url("%s/0" % prefix)

    def loop(self, path):
        return self.redirect(path, self.url(path))

    def stream(self, path, interval=0.0, chunk=None, max_time=MAX_STREAM_S,
               ctype="text/html; charset=utf-8"):
        """A chunked answer that never ends: until the client goes away,
        the server stops, or max_time passes."""
        chunk = chunk or (b"<p>" + b"la " * 340 + b"</p>\n")
        route_info = {"ended": None, "sent": 0}

        def h(req):
            req.send_response(200)
            req.send_header("Content-Type", ctype)
            req.send_header("Transfer-Encoding", "chunked")
            req.send_header("Connection", "close")
            req.end_headers()
            req.close_connection = True
            head = b"<!DOCTYPE html><html><body>"
            req.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
            end = time.monotonic() + max_time
            why = "max_time"
            try:
                while time.monotonic() < end:
                    if self.stopping.is_set():
                        why = "stopping"
                        break
                    req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    req.wfile.flush()
                    route_info["sent"] += len(chunk)
                    if interval:
                        self.stopping.wait(interval)
            except (BrokenPipeError, ConnectionResetError, socket.timeout,
                    TimeoutError, OSError):
                why = "client gone"
            route_info["ended"] = (why, time.monotonic())
        self.routes[path] = h
        self.stream_info = route_info
        return self.url(path)

    # -- what was seen

    def hits(self, path=None):
        with self.lock:
            return [r for r in self.requests
                    if path is None or r[1] == path]

    def count(self, path=None):
        return len(self.hits(path))


class Canary(Origin):
    """A server that must never be contacted.  It answers every path with
    a page linking to target, so a leak through the SSRF guard would also
    turn into a (wrongly) accepted pingback."""

    def __init__(self, host, target, port=0):
        super().__init__(host, port)
        body = ("<html><head><title>canary</title></head><body>"
                "<a href=\"%s\">post</a></body></html>" % target).encode()

        def h(req):
            req._send(200, body, "text/html")
        self.default = h

    def seen(self):
        """Connections accepted and requests received so far."""
        with self.lock:
            return self.connections, len(self.requests)


class Receiver(Origin):
    """A webhook receiver: records every request to path (headers, raw
    body, the status answered) and answers status, an int or a function
    of the record.  While gate is cleared, answers are held back (at
    most HOLD_MAX_S each)."""

    HOLD_MAX_S = 30

    def __init__(self, host="127.0.0.2", port=0, path="/hook", status=200):
        super().__init__(host, port)
        self.path = path
        self.status = status
        self.posts = []
        self.gate = threading.Event()
        self.gate.set()
        self.routes[path] = self._hook

    @property
    def hook(self):
        return self.url(self.path)

    def _hook(self, req):
        n = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(n) if n > 0 else b""
        rec = {"method": req.command,
               "headers": {k.lower(): v for k, v in req.headers.items()},
               "body": body, "time": time.monotonic(), "status": None,
               "answered": False}
        with self.lock:
            self.posts.append(rec)
        end = time.monotonic() + self.HOLD_MAX_S
        while not self.gate.is_set() and not self.stopping.is_set() and \
                time.monotonic() < end:
            self.gate.wait(0.05)
        st = self.status(rec) if callable(self.status) else self.status
        rec["status"] = st
        req._send(st, b"ok\n" if 200 <= st < 300 else b"no\n",
                  "text/plain")
        rec["answered"] = True

    def received(self):
        with self.lock:
            return list(self.posts)

    def delivered(self):
        """The requests answered with a 2xx."""
        return [r for r in self.received()
                if r["answered"] and 200 <= (r["status"] or 0) < 300]

    def by_key(self, ok_only=True):
        """{X-Pingbackd-Id: [bodies]} of the (2xx, by default) requests."""
        out = {}
        for r in (self.delivered() if ok_only else self.received()):
            out.setdefault(r["headers"].get("x-pingbackd-id"),
                           []).append(r["body"])
        return out


def fixture(name, **subst):
    """Bytes of the fixture NAME (tests/data/bb/NAME, or the shared German
    fixture tests/data/NAME) with {{KEY}} replaced (ASCII values)."""
    path = os.path.join(harness.BBDATA, name)
    if not os.path.exists(path):
        path = os.path.join(harness.TESTDATA, name)
    with open(path, "rb") as f:
        data = f.read()
    for k, v in subst.items():
        data = data.replace(b"{{%s}}" % k.encode(), v.encode("ascii"))
    return data


def link_page(target, title="A page", before="Some text before ",
              after=" and some text after.", extra=""):
    """A small UTF-8 HTML page linking to target once."""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>%s</title></head><body><p>%s<a href=\"%s\">the post</a>"
            "%s</p>%s</body></html>\n" % (title, before, target, after,
                                          extra)).encode("utf-8")


def nolink_page(title="No link here", body="Nothing to see."):
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head><body>"
            "<p>%s</p></body></html>\n" % (title, body)).encode("utf-8")
