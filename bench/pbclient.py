#!/usr/bin/env python3
"""Pingback clients of make bench, besides wrk.

  seq    N requests one after the other on one keep-alive connection:
         the deterministic load of the instruction-count guard.
  probe  fault-path requests at a fixed rate, latency measured from the
         time each was due (so a stalled server is not hidden by the
         client waiting for it): "other clients" during slow sources.
  burst  (a function only) N connections opened first, then one
         pingback sent on each at once: N pingbacks in flight together.

As a command, seq and probe print one JSON object on stdout.
"""

import argparse
import asyncio
import json
import re
import socket
import sys
import threading
import time

FAULT_SOURCE = "http://127.0.0.1:9/bench/source/"
FAULT_TARGET = "https://elsewhere.example/not/on/this/blog/"
_FAULT_RE = re.compile(rb"<name>faultCode</name>\s*<value><(?:i4|int)>(-?\d+)<")


def ping_body(source, target):
    return ("<?xml version=\"1.0\"?>\n<methodCall>"
            "<methodName>pingback.ping</methodName><params>"
            "<param><value><string>%s</string></value></param>"
            "<param><value><string>%s</string></value></param>"
            "</params></methodCall>\n" % (source, target)).encode()


def http_post(host, port, path, body):
    """One HTTP/1.1 POST request as bytes (keep-alive)."""
    return (("POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
             "Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
             % (path, host, port, len(body))).encode() + body)


def fault_code(body):
    """The fault code of an XML-RPC answer, or None for a success."""
    m = _FAULT_RE.search(body)
    return int(m.group(1)) if m else None


def split_url(url):
    m = re.match(r"http://([^/:]+|\[[^]]+\]):(\d+)(/.*)?$", url)
    if not m:
        raise ValueError("not http://host:port/path: %s" % url)
    return m.group(1).strip("[]"), int(m.group(2)), m.group(3) or "/"


class Conn:
    """A blocking keep-alive HTTP/1.1 connection."""

    def __init__(self, host, port, timeout=30):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self, path, body):
        """POST body; return (status, response body)."""
        self.sock.sendall(http_post(self.host, self.port, path, body))
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, chunked = 0, False
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v)
            elif k == b"transfer-encoding" and b"chunked" in v.lower():
                chunked = True
        if not chunked:
            return status, self._take(length)
        data = b""
        while True:
            n = int(self._line().split(b";")[0], 16)
            if n == 0:
                while self._line():
                    pass
                return status, data
            data += self._take(n)
            self._take(2)

    def close(self):
        self.sock.close()


def seq(url, bodies, timeout=60):
    """Send bodies one by one; return (answers, faults by code)."""
    host, port, path = split_url(url)
    c = Conn(host, port, timeout)
    faults = {}
    ok = 0
    try:
        for b in bodies:
            st, data = c.request(path, b)
            code = fault_code(data) if st == 200 else "http%d" % st
            if code is None:
                ok += 1
            else:
                faults[str(code)] = faults.get(str(code), 0) + 1
    finally:
        c.close()
    return ok, faults


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def probe(url, rate, seconds, conns=4, body=None):
    """Fault-path requests at rate per second over conns connections for
    seconds; latencies (s) from the time each request was due."""
    host, port, path = split_url(url)
    body = body or ping_body(FAULT_SOURCE, FAULT_TARGET)
    lat, errors, when = [], [], []
    lock = threading.Lock()
    start = time.monotonic() + 0.05
    interval = conns / float(rate)

    def worker(i):
        due = start + i * interval / conns
        end = start + seconds
        try:
            c = Conn(host, port, timeout=max(10, seconds))
        except OSError as e:
            with lock:
                errors.append(str(e))
            return
        try:
            while due < end:
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                st, data = c.request(path, body)
                t = time.monotonic() - due
                with lock:
                    if st != 200 or fault_code(data) != 33:
                        errors.append("status %d fault %r"
                                      % (st, fault_code(data)))
                    lat.append(t)
                    when.append((t, due - start))
                due += interval
        except OSError as e:
            with lock:
                errors.append(str(e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    return {"requests": len(lat), "errors": len(errors),
            "error_sample": errors[:3],
            "p50_ms": _ms(percentile(lat, 50)),
            "p99_ms": _ms(percentile(lat, 99)),
            "max_ms": _ms(max(lat) if lat else None),
            # the slowest answers: (latency ms, s after the probe began)
            "slowest": [(_ms(t), round(at, 3))
                        for t, at in sorted(when, reverse=True)[:5]]}


def _ms(s):
    return None if s is None else round(s * 1000.0, 3)


async def _burst(host, port, path, bodies, timeout, connect_batch):
    conns = []
    for i in range(0, len(bodies), connect_batch):
        conns += await asyncio.gather(*[
            asyncio.open_connection(host, port)
            for _ in bodies[i:i + connect_batch]])
    answers = [None] * len(bodies)
    t_sent = time.monotonic()

    async def one(i, r, w):
        t0 = time.monotonic()
        w.write(http_post(host, port, path, bodies[i]))
        try:
            head = await r.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)",
                                   head).group(1))
            data = await r.readexactly(length)
            st = int(head.split()[1])
            answers[i] = (st, fault_code(data), time.monotonic() - t0)
        except (OSError, asyncio.IncompleteReadError, AttributeError,
                asyncio.LimitOverrunError) as e:
            answers[i] = (0, "error: %s" % e, time.monotonic() - t0)
        finally:
            w.close()

    await asyncio.wait_for(asyncio.gather(*[
        one(i, r, w) for i, (r, w) in enumerate(conns)]), timeout)
    return answers, t_sent


def burst(url, bodies, timeout=60, connect_batch=256):
    """Open one connection per body, then send them all at once; return
    [(status, fault code or None, latency s)], one per body."""
    host, port, path = split_url(url)
    return asyncio.run(_burst(host, port, path, bodies, timeout,
                              connect_batch))[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seq", help="N sequential pingbacks")
    s.add_argument("--url", required=True)
    s.add_argument("--mode", choices=("fault", "verified"), required=True)
    s.add_argument("-n", type=int, required=True)
    s.add_argument("--origin", help="http://host:port of bench/origin")
    s.add_argument("--target", help="a target on the blog")
    s.add_argument("--tag", default="seq")
    p = sub.add_parser("probe", help="fault path at a fixed rate")
    p.add_argument("--url", required=True)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--conns", type=int, default=4)
    a = ap.parse_args()
    if a.cmd == "seq":
        if a.mode == "fault":
            bodies = [ping_body(FAULT_SOURCE, FAULT_TARGET)] * a.n
        else:
            bodies = [ping_body("%s/s/%s-%d" % (a.origin, a.tag, i),
                                a.target) for i in range(a.n)]
        ok, faults = seq(a.url, bodies)
        json.dump({"ok": ok, "faults": faults}, sys.stdout)
    else:
        json.dump(probe(a.url, a.rate, a.seconds, a.conns), sys.stdout)
    print()


if __name__ == "__main__":
    main()
