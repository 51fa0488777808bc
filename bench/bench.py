#!/usr/bin/env python3
"""The scenarios of make bench (bench/run.sh) and make bench-wordpress.

  bench.py run [--tmp DIR]           every scenario, one table, the ratios
  bench.py wordpress --wp-url URL --wp-target URL [--tmp DIR]
                                     pingbackd and WordPress side by side

Comparisons run side by side, A B A B ..., and are reported as the
median of the per-round ratios, because absolute figures drift on a
shared machine.  CPU time is the daemon's utime+stime from /proc; peak
RSS is VmHWM, reset before each run through /proc/PID/clear_refs.

Environment (set by bench/local.mk): PINGBACKD, BENCH_BIN (bare_fault
and origin), BENCH_SRC (the Lua scripts), BENCH_SECONDS, BENCH_ROUNDS,
BENCH_SMOKE (1: short runs, small counts; figures are printed, not
asserted), BENCH_OUT (a JSON copy of the results).
"""

import argparse
import atexit
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pbclient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("BENCH_SRC") or HERE
BIN = os.environ.get("BENCH_BIN") or HERE
PINGBACKD = os.environ.get("PINGBACKD") or os.path.join(
    os.path.dirname(BIN), "src", "pingbackd")
SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0", "no")
SECONDS = int(os.environ.get("BENCH_SECONDS") or (2 if SMOKE else 10))
CG_BATCHES = {"fault": (100, 600), "verified": (50, 250)}
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or (1 if SMOKE else 3))
CONNS = 32              # wrk connections, as the issue says
WRK_THREADS = 1         # one core for wrk, one for the server under test
TARGET = "http://blog.bench.test/2026/12/a-post-worth-linking/"
BLOG = "http://blog.bench.test/"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

_procs = []


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def cleanup():
    """Stop every process we started, newest first, bounded."""
    for p in reversed(_procs):
        if p.poll() is None:
            p.terminate()
    end = time.monotonic() + 10
    for p in reversed(_procs):
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    del _procs[:]


def spawn(argv, **kw):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
    _procs.append(p)
    return p


def stop(p, timeout=20):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    if p in _procs:
        _procs.remove(p)
    return p.returncode


def read_port(p, timeout=10):
    """The N of the "listening port=N" line a bench program prints."""
    end = time.monotonic() + timeout
    line = b""
    while time.monotonic() < end and not line.endswith(b"\n"):
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            c = os.read(p.stdout.fileno(), 1)
            if not c:
                break
            line += c
    m = re.match(rb"listening port=(\d+)", line)
    if not m:
        raise RuntimeError("%s did not report its port (got %r)"
                           % (p.args[0], line))
    return int(m.group(1))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """/proc figures of a process."""

    def __init__(self, pid):
        self.pid = pid

    def cpu(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def status_kib(self, key):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return None

    def rss(self):
        return self.status_kib("VmRSS")

    def hwm(self):
        return self.status_kib("VmHWM")

    def reset_hwm(self):
        try:
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
        except OSError:
            pass

    def rollup_kib(self, key):
        """A kB figure of /proc/PID/smaps_rollup (Pss, Private_Dirty...)."""
        try:
            with open("/proc/%d/smaps_rollup" % self.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def max_files(self):
        with open("/proc/%d/limits" % self.pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        return None


class ProcTree:
    """CPU of processes and all their descendants (WordPress: MariaDB,
    php-fpm and nginx), including children that have been reaped."""

    def __init__(self, pids):
        self.roots = [int(p) for p in pids]
        self.pid = self.roots[0] if self.roots else None

    def _all(self):
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                kids.setdefault(ppid, []).append(int(d))
        out, todo = [], list(self.roots)
        while todo:
            p = todo.pop()
            out.append(p)
            todo += kids.get(p, [])
        return out

    def cpu(self):
        t = 0.0
        for p in self._all():
            try:
                with open("/proc/%d/stat" % p) as f:
                    x = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            t += sum(int(v) for v in x[11:15]) / CLK_TCK
        return t

    def reset_hwm(self):
        pass

    def hwm(self):
        total = 0
        for p in self._all():
            try:
                total += Proc(p).hwm() or 0
            except OSError:
                pass
        return total


class Server:
    """A bench program that prints its port: bare_fault or origin."""

    def __init__(self, name, *args):
        self.p = spawn([os.path.join(BIN, name)] + list(args),
                       stdout=subprocess.PIPE)
        self.port = read_port(self.p)
        self.proc = Proc(self.p.pid)
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        stop(self.p)


class Daemon:
    """pingbackd with a bench configuration in its own directory."""

    def __init__(self, tmp, name, target_allow=BLOG, max_inflight=1000):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.store = os.path.join(self.dir, "mentions.sqlite")
        self.logpath = os.path.join(self.dir, "pingbackd.log")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/xmlrpc" % self.port
        self.conf = os.path.join(self.dir, "pingbackd.conf")
        with open(self.conf, "w") as f:
            f.write("""[server]
listen = 127.0.0.1:%(port)d
public_url = http://127.0.0.1:%(port)d
xmlrpc_path = /xmlrpc
max_connections = %(maxconn)d
read_timeout = 60
keepalive_timeout = 60

[targets]
allow = %(allow)s

[fetch]
timeout = 30
allow_networks = 127.0.0.0/8 ::1/128
max_concurrent = %(inflight)d
max_per_host = %(perhost)d

[store]
path = %(store)s

[limits]
client_burst = 0
source_host_per_minute = 0
fetch_cache_ttl = 0

[log]
level = info
""" % {"port": self.port, "maxconn": max_inflight + 256,
       "allow": target_allow, "inflight": max_inflight,
       "perhost": min(max_inflight, 10000), "store": self.store})
        self.p = None

    def start(self, pipe=False, timeout=15, wrapper=()):
        """Start (under wrapper, e.g. valgrind); return seconds from exec
        to the event=ready line (pipe) or to the first accepted
        connection (log to a file)."""
        argv = list(wrapper) + [PINGBACKD, "-c", self.conf]
        t0 = time.perf_counter()
        if pipe:
            self.p = spawn(argv, cwd=self.dir, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
            ready = self._wait_ready_line(t0, timeout)
        else:
            with open(self.logpath, "ab") as logf:
                self.p = spawn(argv, cwd=self.dir, stdout=logf, stderr=logf)
            ready = self._wait_connect(t0, timeout)
        self.proc = Proc(self.p.pid)
        return ready

    def _wait_ready_line(self, t0, timeout):
        buf = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.p.stderr], [], [], 0.05)
            if r:
                data = os.read(self.p.stderr.fileno(), 65536)
                if not data:
                    break
                buf += data
                if b"event=ready" in buf:
                    t = time.perf_counter() - t0
                    # Nothing more comes when idle; keep the rest in a file.
                    threading.Thread(target=self._drain, daemon=True,
                                     args=(buf,)).start()
                    return t
        raise RuntimeError("pingbackd not ready: %s" % buf.decode("utf-8",
                                                                  "replace"))

    def _drain(self, buf):
        with open(self.logpath, "ab") as f:
            f.write(buf)
            for chunk in iter(lambda: self.p.stderr.read1(65536), b""):
                f.write(chunk)

    def _wait_connect(self, t0, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.5).close()
                return time.perf_counter() - t0
            except OSError:
                time.sleep(0.0005)
        raise RuntimeError("pingbackd did not start (status %r); log:\n%s"
                           % (self.p.poll(), self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.logpath, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8",
                                                          "replace")
        except OSError:
            return ""

    def alive(self):
        if self.p.poll() is not None:
            raise RuntimeError("pingbackd exited with %r; log:\n%s"
                               % (self.p.returncode, self.log_tail()))

    def rows(self, like=None):
        db = sqlite3.connect("file:%s?mode=ro" % self.store, uri=True,
                             timeout=10)
        try:
            if like is None:
                return db.execute("SELECT count(*) FROM mentions"
                                  ).fetchone()[0]
            return db.execute("SELECT count(*) FROM mentions WHERE source"
                              " LIKE ?", (like,)).fetchone()[0]
        finally:
            db.close()

    def stop(self, timeout=20):
        return stop(self.p, timeout)


# -- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _dur_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def wrk(url, script, args=(), proc=None, seconds=None, conns=CONNS):
    """Run wrk; return its figures, with the CPU and peak RSS of proc."""
    seconds = seconds or SECONDS
    cmd = ["wrk", "-t%d" % WRK_THREADS, "-c%d" % conns, "-d%ds" % seconds,
           "--timeout", "10s", "--latency", "-s",
           os.path.join(SRC, script), url]
    if args:
        cmd += ["--"] + list(args)
    if proc:
        proc.reset_hwm()
        cpu0 = proc.cpu()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=seconds + 60).stdout.decode()
    r = {"cmd": " ".join(cmd)}
    if proc:
        r["cpu_s"] = proc.cpu() - cpu0
        r["peak_rss_kib"] = proc.hwm()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m or not n:
        raise RuntimeError("wrk failed:\n%s\n%s" % (" ".join(cmd), out))
    r["rps"] = float(m.group(1))
    r["requests"] = int(n.group(1))
    for p in ("50", "99"):
        q = re.search(r"^\s+%s%%\s+(\S+)" % p, out, re.M)
        r["p%s_ms" % p] = _dur_ms(q.group(1)) if q else None
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in e.groups()) if e else 0
    e = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(e.group(1)) if e else 0
    for k in ("faults", "errors"):
        e = re.search(r"^%s=(\d+)" % k, out, re.M)
        if e:
            r[k] = int(e.group(1))
    e = re.search(r"^fault_sample=(.*)$", out, re.M)
    if e:
        r["fault_sample"] = e.group(1)
        log("a fault: %s" % e.group(1)[:300])
    if proc and r["requests"]:
        r["cpu_per_1k"] = r["cpu_s"] * 1000.0 / r["requests"]
    if r["requests"] == 0:
        raise RuntimeError("wrk completed no request:\n%s" % out)
    return r


def warm(url, script, args=()):
    """A short unmeasured run: first-use costs stay out of the rounds."""
    wrk(url, script, args, seconds=1)


def median_of(runs, key):
    xs = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(xs) if xs else None


def summary(name, runs):
    row = {"scenario": name, "runs": len(runs)}
    for k in ("rps", "p50_ms", "p99_ms", "cpu_per_1k", "peak_rss_kib",
              "requests"):
        row[k] = median_of(runs, k)
    return row


def ratios(a_runs, b_runs, key="rps"):
    """Per-round ratios a/b (A B A B ...) and their median."""
    rs = [a[key] / b[key] for a, b in zip(a_runs, b_runs) if b[key]]
    return {"median": statistics.median(rs) if rs else None,
            "rounds": [round(x, 4) for x in rs]}


def check_one(url, body, want_fault):
    ok, faults = pbclient.seq(url, [body])
    got = None if ok else list(faults)[0]
    if str(got) != str(want_fault):
        raise RuntimeError("%s answered %r, not %r" % (url, got, want_fault))


# -- scenarios

def scenario_fault(tmp, res):
    """pingbackd's fault path against a bare evhttp fixed fault."""
    d = Daemon(tmp, "fault")
    d.start()
    bare = Server("bare_fault")
    body = pbclient.ping_body(pbclient.FAULT_SOURCE, pbclient.FAULT_TARGET)
    check_one(d.url, body, 33)
    check_one(bare.url + "/xmlrpc", body, 33)
    warm(d.url, "fault.lua")
    warm(bare.url + "/xmlrpc", "fault.lua")
    a, b = [], []
    for i in range(ROUNDS):
        a.append(wrk(d.url, "fault.lua", proc=d.proc))
        d.alive()
        b.append(wrk(bare.url + "/xmlrpc", "fault.lua", proc=bare.proc))
        log("fault round %d: pingbackd %.0f/s, bare %.0f/s"
            % (i + 1, a[-1]["rps"], b[-1]["rps"]))
    res["rows"] += [summary("fault: pingbackd", a),
                    summary("fault: bare evhttp", b)]
    res["ratios"]["fault_vs_bare"] = ratios(a, b)
    res["raw"]["fault"] = {"pingbackd": a, "bare": b}
    bare.stop()
    d.stop()


def scenario_verified(tmp, res, origin):
    """Distinct sources, each fetched, parsed and stored; against what
    the origin delivers to wrk directly."""
    d = Daemon(tmp, "verified")
    d.start()
    check_one(d.url, pbclient.ping_body(origin.url + "/s/check-0", TARGET),
              None)
    warm(d.url, "verified.lua", (origin.url, TARGET, "warm"))
    warm(origin.url, "verified.lua", (origin.url, TARGET, "warm", "direct"))
    a, b = [], []
    for i in range(ROUNDS):
        tag = "v%d" % i
        r = wrk(d.url, "verified.lua", (origin.url, TARGET, tag), d.proc)
        d.alive()
        r["stored"] = d.rows("%%/s/%s-%%" % tag)
        a.append(r)
        b.append(wrk(origin.url, "verified.lua",
                     (origin.url, TARGET, "d%d" % i, "direct"),
                     origin.proc))
        log("verified round %d: pingbackd %.0f/s (%d answered, %d stored, "
            "%d faults), origin direct %.0f/s"
            % (i + 1, r["rps"], r["requests"], r["stored"],
               r.get("faults", -1), b[-1]["rps"]))
    res["rows"] += [summary("verified: pingbackd", a),
                    summary("verified: origin direct", b)]
    res["ratios"]["verified_vs_origin"] = ratios(a, b)
    res["verified"] = {
        "answered": sum(r["requests"] for r in a),
        "stored": sum(r["stored"] for r in a),
        "faults": sum(r.get("faults", 0) for r in a),
        "errors": sum(r.get("errors", 0) + r["non2xx"] +
                      r["socket_errors"] for r in a)}
    res["raw"]["verified"] = {"pingbackd": a, "origin": b}
    d.stop()


def scenario_slow(tmp, res, origin):
    """N pingbacks in flight at once, each source answering after 2 s;
    fault-path probe for other clients meanwhile."""
    n = 1000 if SMOKE else 10000
    d = Daemon(tmp, "slow", max_inflight=n)
    d.start()
    need = 2 * n + 64
    if (d.proc.max_files() or 0) < need:
        n = max(100, (d.proc.max_files() - 64) // 2 - 100)
        log("descriptor limit %s: slow sources with %d in flight"
            % (d.proc.max_files(), n))
    # Warm up: the code paths and allocator pools of a verification.
    pbclient.seq(d.url, [pbclient.ping_body(origin.url + "/s/warm-%d" % i,
                                            TARGET) for i in range(200)])
    time.sleep(0.3)
    rss0 = d.proc.rss()
    d.proc.reset_hwm()
    cpu0 = d.proc.cpu()
    samples = []
    done = threading.Event()

    def sample():
        k = 0
        while not done.is_set():
            try:
                nf = d.proc.nfds() if k % 5 == 0 else None
                samples.append((time.monotonic(), d.proc.rss(), nf))
            except OSError:
                break
            k += 1
            done.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    probe_s = 6 if SMOKE else 9
    probe = spawn([sys.executable, os.path.join(HERE, "pbclient.py"),
                   "probe", "--url", d.url, "--rate", "200", "--conns", "4",
                   "--seconds", str(probe_s)], stdout=subprocess.PIPE)
    bodies = [pbclient.ping_body("%s/slow/sl-%d" % (origin.url, i), TARGET)
              for i in range(n)]
    t0 = time.monotonic()
    answers = pbclient.burst(d.url, bodies, timeout=120)
    wall = time.monotonic() - t0
    done.set()
    th.join(5)
    cpu = d.proc.cpu() - cpu0
    hwm = d.proc.hwm()
    out, _ = probe.communicate(timeout=probe_s + 60)
    _procs.remove(probe)
    pr = json.loads(out.decode())
    d.alive()
    stored = d.rows("%/slow/sl-%")
    ok = sum(1 for st, fc, _ in answers if st == 200 and fc is None)
    lat = [t for st, fc, t in answers if st == 200 and fc is None]
    # RSS while everything is in flight: the sample with most descriptors.
    full = [s for s in samples if s[2] is not None]
    peak_fd = max(full, key=lambda s: s[2]) if full else (0, rss0, 0)
    page = len(open_page(origin, "/slow/sl-0"))
    res["slow"] = {
        "inflight": n, "answered_ok": ok, "stored": stored,
        "other_answers": sorted({str(fc) for st, fc, _ in answers
                                 if not (st == 200 and fc is None)}),
        "wall_s": wall, "page_bytes": page,
        "rss_before_kib": rss0, "rss_inflight_kib": peak_fd[1],
        "fds_inflight": peak_fd[2], "hwm_kib": hwm,
        "kib_per_inflight": (peak_fd[1] - rss0) / float(n),
        "kib_per_inflight_peak": (hwm - rss0) / float(n),
        "probe": pr}
    res["rows"].append({
        "scenario": "slow: %d in flight, 2 s sources" % n, "runs": 1,
        "rps": n / wall, "requests": n,
        "p50_ms": pbclient.percentile(lat, 50) * 1000 if lat else None,
        "p99_ms": pbclient.percentile(lat, 99) * 1000 if lat else None,
        "cpu_per_1k": cpu * 1000.0 / n, "peak_rss_kib": hwm})
    res["rows"].append({
        "scenario": "slow: fault path meanwhile", "runs": 1,
        "rps": pr["requests"] / float(probe_s), "requests": pr["requests"],
        "p50_ms": pr["p50_ms"], "p99_ms": pr["p99_ms"],
        "cpu_per_1k": None, "peak_rss_kib": None})
    log("slow: %d in flight, %d ok, %d stored, %.1f s; %.1f KiB each; "
        "probe p99 %s ms" % (n, ok, stored, wall,
                             res["slow"]["kib_per_inflight"], pr["p99_ms"]))
    d.stop()


def open_page(origin, path):
    import urllib.request
    return urllib.request.urlopen(origin.url + path, timeout=10).read()


def scenario_idle(tmp, res):
    """RSS after start, and exec to event=ready, over several starts:
    the first creates its store, the others open the existing one."""
    ready, rss, fresh = [], [], []
    for i in range(3 if SMOKE else 7):
        d = Daemon(tmp, "idle")
        t = d.start(pipe=True) * 1000.0
        time.sleep(0.2)
        (ready if i else fresh).append(t)
        rss.append(d.proc.rss())
        anon = d.proc.status_kib("RssAnon")
        pss = d.proc.rollup_kib("Pss")
        d.stop()
    res["idle"] = {"ready_ms": ready, "fresh_store_ready_ms": fresh[0],
                   "rss_kib": rss, "rss_anon_kib": anon, "pss_kib": pss,
                   "ready_ms_median": statistics.median(ready),
                   "rss_kib_median": statistics.median(rss)}
    res["rows"].append({"scenario": "idle (%d starts)" % len(rss),
                        "runs": len(rss), "rps": None,
                        "p50_ms": statistics.median(ready), "p99_ms": None,
                        "cpu_per_1k": None,
                        "peak_rss_kib": statistics.median(rss)})
    log("idle: ready %.1f ms (new store: %.1f ms), RSS %d KiB (anonymous "
        "%d KiB, PSS %s KiB)" % (res["idle"]["ready_ms_median"], fresh[0],
                                 res["idle"]["rss_kib_median"], anon, pss))


def prefill(store, n):
    """n verified-looking rows in one transaction."""
    db = sqlite3.connect(store)
    excerpt = ("[...] as this post explains in more detail, duis aute "
               "irure dolor in reprehenderit in voluptate velit [...]")
    try:
        with db:
            db.executemany(
                "INSERT INTO mentions (kind, source, target, source_norm,"
                " target_norm, title, excerpt, status, client_ip,"
                " received_at) VALUES ('pingback', ?1, ?2, ?1, ?2, ?3, ?4,"
                " 'approved', '192.0.2.7', '2026-01-01T00:00:00Z')",
                (("http://site%d.example/%d/notes-on-things/" % (i % 997, i),
                  "http://blog.bench.test/%d/post-%d/" % (i % 9, i % 5000),
                  "Notes on things, part %d" % i, excerpt)
                 for i in range(n)))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def scenario_growth(tmp, res, origin):
    """The cost of a verified pingback with a small and a large store."""
    sizes = (1000, 100000 if SMOKE else 1000000)
    daemons = []
    for size in sizes:
        d = Daemon(tmp, "store%d" % size)
        d.start()
        d.stop()            # the schema is the daemon's
        t = time.monotonic()
        prefill(d.store, size)
        log("store: %d rows prefilled in %.1f s" % (size,
                                                    time.monotonic() - t))
        d.start()
        warm(d.url, "verified.lua", (origin.url, TARGET, "warm"))
        daemons.append(d)
    runs = ([], [])
    for i in range(ROUNDS):
        for k, d in enumerate(daemons):
            tag = "g%d-%d" % (sizes[k], i)
            runs[k].append(wrk(d.url, "verified.lua",
                               (origin.url, TARGET, tag), d.proc))
            d.alive()
        log("store round %d: %d rows %.0f/s, %d rows %.0f/s"
            % (i + 1, sizes[0], runs[0][-1]["rps"], sizes[1],
               runs[1][-1]["rps"]))
    for k, d in enumerate(daemons):
        res["rows"].append(summary("verified, store of %d rows" % sizes[k],
                                   runs[k]))
        d.stop()
    res["ratios"]["store_cpu_large_vs_small"] = ratios(runs[1], runs[0],
                                                       "cpu_per_1k")
    res["ratios"]["store_rps_small_vs_large"] = ratios(runs[0], runs[1])
    res["store_sizes"] = sizes
    res["raw"]["store"] = {"small": runs[0], "large": runs[1]}


# -- report

def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def print_table(rows):
    head = ("scenario", "req/s", "p50 ms", "p99 ms", "CPU s/1k req",
            "peak RSS KiB")
    lines = [head] + [(r["scenario"], fmt(r.get("rps"), 0),
                       fmt(r.get("p50_ms"), 2), fmt(r.get("p99_ms"), 2),
                       fmt(r.get("cpu_per_1k"), 3),
                       fmt(r.get("peak_rss_kib"), 0)) for r in rows]
    w = [max(len(l[i]) for l in lines) for i in range(len(head))]
    for j, l in enumerate(lines):
        print("  ".join(l[i].ljust(w[i]) if i == 0 else l[i].rjust(w[i])
                        for i in range(len(l))))
        if j == 0:
            print("  ".join("-" * x for x in w))


def checks(res):
    """The issue's figures: (what, got, goal, reached)."""
    out = []
    r = res["ratios"]

    def add(what, got, goal, ok):
        out.append((what, got, goal, ok))

    if "fault_vs_bare" in r:
        v = r["fault_vs_bare"]["median"]
        add("fault path / bare evhttp (req/s)", "%.3f" % v, ">= 0.6",
            v >= 0.6)
    if "verified_vs_origin" in r:
        rps = [x for x in res["rows"]
               if x["scenario"] == "verified: pingbackd"][0]["rps"]
        add("verified pingbacks/s", "%.0f" % rps, ">= 5000", rps >= 5000)
        v = r["verified_vs_origin"]["median"]
        add("verified / origin direct (req/s)", "%.3f" % v, ">= 0.4",
            v >= 0.4)
        vv = res["verified"]
        add("verified: every answer a success, every one stored",
            "%d answered, %d stored, %d faults, %d errors"
            % (vv["answered"], vv["stored"], vv["faults"], vv["errors"]),
            "stored >= answered, 0 faults",
            vv["stored"] >= vv["answered"] and vv["faults"] == 0 and
            vv["errors"] == 0)
    if "slow" in res:
        s = res["slow"]
        add("slow sources: all complete correctly",
            "%d of %d ok, %d stored" % (s["answered_ok"], s["inflight"],
                                        s["stored"]),
            "all", s["answered_ok"] == s["inflight"] == s["stored"])
        over = s["kib_per_inflight_peak"] - s["page_bytes"] / 1024.0
        add("slow: KiB per in-flight verification above the page (peak)",
            "%.1f (in flight: %.1f, page %.1f)"
            % (over, s["kib_per_inflight"] - s["page_bytes"] / 1024.0,
               s["page_bytes"] / 1024.0), "<= 16", over <= 16)
        p99 = s["probe"]["p99_ms"]
        add("slow: fault-path p99 for other clients (ms)",
            "%s (max %s, %d errors)" % (p99, s["probe"]["max_ms"],
                                        s["probe"]["errors"]), "< 20",
            p99 is not None and p99 < 20 and s["probe"]["errors"] == 0)
    if "idle" in res:
        i = res["idle"]
        add("idle RSS after start (KiB)", "%d (anonymous %d, PSS %s)"
            % (i["rss_kib_median"], i["rss_anon_kib"], i["pss_kib"]),
            "<= 8192", i["rss_kib_median"] <= 8192)
        add("start to ready, existing store (ms)",
            "%.1f (new store: %.1f)" % (i["ready_ms_median"],
                                        i["fresh_store_ready_ms"]),
            "< 50", i["ready_ms_median"] < 50)
    if "store_cpu_large_vs_small" in r:
        v = r["store_cpu_large_vs_small"]["median"]
        w = r["store_rps_small_vs_large"]["median"]
        add("store %d vs %d rows: CPU per pingback" % tuple(
            res["store_sizes"][::-1]), "%.3f" % v, "<= 1.5", v <= 1.5)
        add("store %d vs %d rows: 1 / throughput" % tuple(
            res["store_sizes"][::-1]), "%.3f" % w, "<= 1.5", w <= 1.5)
    return out


def report(res):
    print()
    print("pingbackd benchmarks, %s, %d s per run, %d round(s) A B A B%s"
          % (time.strftime("%Y-%m-%d %H:%M %Z"), SECONDS, ROUNDS,
             " (smoke mode: figures not asserted)" if SMOKE else ""))
    print("machine: %s; load average at start %s, at end %s"
          % (machine(), res.get("load_start"), loadavg()))
    print()
    print_table(res["rows"])
    print()
    print("ratios (median of per-round ratios):")
    for k, v in res["ratios"].items():
        print("  %-28s %s   rounds: %s" % (k, fmt(v["median"], 3),
                                          v["rounds"]))
    print()
    print("figures of the issue:")
    for what, got, goal, ok in checks(res):
        print("  %-62s %-34s goal %-8s %s" % (what, got, goal,
                                               "reached" if ok else
                                               "NOT reached"))
    out = os.environ.get("BENCH_OUT")
    if out:
        res["checks"] = checks(res)
        with open(out, "w") as f:
            json.dump(res, f, indent=1, default=str)
        print("\nresults: %s" % out)


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        mem = 0
    return "%d CPUs (%s), %d MiB" % (os.cpu_count(), model, mem)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def new_results():
    return {"rows": [], "ratios": {}, "raw": {}, "smoke": SMOKE,
            "seconds": SECONDS, "rounds": ROUNDS, "machine": machine(),
            "load_start": loadavg(), "pingbackd": PINGBACKD}


def cmd_run(tmp):
    res = new_results()
    origin = Server("origin", "-t", TARGET, "-d", "2000")
    scenario_fault(tmp, res)
    scenario_verified(tmp, res, origin)
    scenario_slow(tmp, res, origin)
    scenario_idle(tmp, res)
    scenario_growth(tmp, res, origin)
    origin.stop()
    report(res)


def cmd_wordpress(tmp, wp_url, wp_target):
    """Fault and verified path, WordPress and pingbackd, A B A B."""
    res = new_results()
    m = re.match(r"(https?://[^/]+/)", wp_target)
    origin = Server("origin", "-t", wp_target, "-d", "2000")
    d = Daemon(tmp, "wp-pingbackd", target_allow=m.group(1))
    d.start()
    body = pbclient.ping_body(pbclient.FAULT_SOURCE, pbclient.FAULT_TARGET)
    _, wpf = pbclient.seq(wp_url, [body])
    log("WordPress fault-path answer: %s" % wpf)
    ok, f = pbclient.seq(wp_url, [pbclient.ping_body(
        origin.url + "/s/wpcheck-0", wp_target)])
    if not ok:
        raise RuntimeError("WordPress did not accept a valid pingback: %s"
                           % f)
    wp = ProcTree(os.environ.get("BENCH_WP_PIDS", "").split())
    warm(d.url, "fault.lua")
    warm(wp_url, "fault.lua")
    warm(d.url, "verified.lua", (origin.url, wp_target, "wpwarm-p"))
    fa, fw, va, vw = [], [], [], []
    for i in range(ROUNDS):
        fa.append(wrk(d.url, "fault.lua", proc=d.proc))
        fw.append(wrk(wp_url, "fault.lua", proc=wp))
        va.append(wrk(d.url, "verified.lua",
                      (origin.url, wp_target, "wpv-p%d" % i), d.proc))
        vw.append(wrk(wp_url, "verified.lua",
                      (origin.url, wp_target, "wpv-w%d" % i), wp))
        log("wordpress round %d: fault %.0f vs %.1f/s, verified %.0f vs "
            "%.1f/s" % (i + 1, fa[-1]["rps"], fw[-1]["rps"], va[-1]["rps"],
                        vw[-1]["rps"]))
    res["rows"] += [summary("fault: pingbackd", fa),
                    summary("fault: WordPress xmlrpc.php", fw),
                    summary("verified: pingbackd", va),
                    summary("verified: WordPress xmlrpc.php", vw)]
    res["ratios"]["fault_pingbackd_vs_wordpress"] = ratios(fa, fw)
    res["ratios"]["verified_pingbackd_vs_wordpress"] = ratios(va, vw)
    res["ratios"]["fault_cpu_wordpress_vs_pingbackd"] = ratios(
        fw, fa, "cpu_per_1k")
    res["ratios"]["verified_cpu_wordpress_vs_pingbackd"] = ratios(
        vw, va, "cpu_per_1k")
    res["wordpress"] = {"fault_answer": wpf,
                        "verified_faults": [r.get("faults") for r in vw],
                        "verified_errors": [r.get("errors") for r in vw]}
    res["raw"]["wordpress"] = {"fa": fa, "fw": fw, "va": va, "vw": vw}
    d.stop()
    origin.stop()
    print()
    print("pingbackd vs WordPress, %s, %d s per run, %d round(s) A B A B"
          % (time.strftime("%Y-%m-%d %H:%M %Z"), SECONDS, ROUNDS))
    print("machine: %s" % machine())
    print()
    print_table(res["rows"])
    print()
    for k, v in res["ratios"].items():
        print("  %-34s %s   rounds: %s" % (k, fmt(v["median"], 1),
                                          v["rounds"]))
    print("  goals: fault >= 300x, verified >= 100x (req/s); the cpu ratios"
          " compare CPU per request\n  (WordPress: MariaDB, php-fpm and"
          " nginx together)")
    print("  WordPress verified-path faults per round: %s"
          % res["wordpress"]["verified_faults"])
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1, default=str)


# -- the instruction-count guard

def cg_total(path):
    """Total Ir of a callgrind output file."""
    total = None
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                total = int(m.group(1))
    if total is None:
        raise RuntimeError("no totals in %s" % path)
    return total


def cg_batch(tmp, origin, mode, n, k):
    """Ir inside the event loop of a daemon that served n requests."""
    d = Daemon(tmp, "cg-%s-%d-%d" % (mode, n, k))
    out = os.path.join(d.dir, "callgrind.out")
    d.start(timeout=120, wrapper=(
        "valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
        "--toggle-collect=event_base_loop"))
    if mode == "fault":
        bodies = [pbclient.ping_body(pbclient.FAULT_SOURCE,
                                     pbclient.FAULT_TARGET)] * n
        want = (0, {"33": n})
    else:
        bodies = [pbclient.ping_body("%s/s/cg-%d" % (origin.url, i), TARGET)
                  for i in range(n)]
        want = (n, {})
    got = pbclient.seq(d.url, bodies, timeout=120)
    if got != want:
        raise RuntimeError("%s batch answered %r, not %r" % (mode, got, want))
    d.stop(timeout=120)
    return cg_total(out), out


def cg_measure(tmp, repeat=1):
    """Ir per request of each path: the difference between a small and
    a large batch, so start-up, first use and shutdown cancel out."""
    origin = Server("origin", "-t", TARGET)
    res = {}
    try:
        for mode, (n1, n2) in CG_BATCHES.items():
            per = []
            for k in range(repeat):
                a, _ = cg_batch(tmp, origin, mode, n1, k)
                b, out = cg_batch(tmp, origin, mode, n2, k)
                per.append((b - a) / float(n2 - n1))
                log("callgrind %s: %d requests %d Ir, %d requests %d Ir: "
                    "%.0f Ir per request" % (mode, n1, a, n2, b, per[-1]))
            res[mode] = {"per_request": statistics.median(per),
                         "runs": per, "out": out}
    finally:
        origin.stop()
    return res


def cg_annotate(out, n=20):
    try:
        text = subprocess.run(["callgrind_annotate", "--inclusive=no", out],
                              stdout=subprocess.PIPE, timeout=120,
                              stderr=subprocess.DEVNULL).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [l for l in text.splitlines() if re.match(r"\s*[\d,]+ ", l)]
    return "\n".join(lines[:n + 1])


def cg_read_baseline(path):
    base = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"(\w+)_ir_per_request\s+(\d+)", line)
            if m:
                base[m.group(1)] = int(m.group(2))
    return base


def cmd_callgrind(tmp, action, repeat):
    path = os.path.join(SRC, "callgrind.baseline")
    res = cg_measure(tmp, repeat)
    print("top functions (self Ir) of the verified batch:")
    print(cg_annotate(res["verified"]["out"]))
    if action == "baseline":
        with open(path, "w") as f:
            f.write("# Instructions (callgrind Ir, inside event_base_loop) "
                    "per request,\n# the marginal cost between batches of "
                    "%s requests.\n# Written by make bench-baseline on %s; "
                    "checked by make bench-callgrind,\n# which fails if "
                    "either grows by more than 10%%.\n# %s; %s\n"
                    % (", ".join("%s %d and %d" % (m, a, b)
                                 for m, (a, b) in CG_BATCHES.items()),
                       time.strftime("%Y-%m-%d"), valgrind_version(),
                       machine()))
            for mode in CG_BATCHES:
                f.write("%s_ir_per_request %d\n"
                        % (mode, round(res[mode]["per_request"])))
        print("wrote %s" % path)
        return 0
    base = cg_read_baseline(path)
    status = 0
    for mode in CG_BATCHES:
        cur = res[mode]["per_request"]
        if mode not in base:
            print("%s: no baseline in %s" % (mode, path))
            status = 1
            continue
        ratio = cur / base[mode]
        verdict = "ok"
        if ratio > 1.10:
            verdict = "FAIL: more than 10% above the baseline"
            status = 1
        elif ratio < 0.90:
            verdict = "ok (faster: make bench-baseline records it)"
        print("%-9s %10.0f Ir per request, baseline %10d: %+6.1f%%  %s"
              % (mode, cur, base[mode], (ratio - 1) * 100, verdict))
    print("callgrind: %d passed, %d failed"
          % (len(CG_BATCHES) - status, status))
    return status


def valgrind_version():
    try:
        return subprocess.run(["valgrind", "--version"],
                              stdout=subprocess.PIPE).stdout.decode().strip()
    except OSError:
        return "valgrind ?"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("cmd", choices=("run", "wordpress", "callgrind"))
    ap.add_argument("action", nargs="?", choices=("check", "baseline"),
                    default="check", help="callgrind: check or baseline")
    ap.add_argument("--repeat", type=int, default=1,
                    help="callgrind: measure each batch this many times")
    ap.add_argument("--tmp", help="scratch directory (default: a new one)")
    ap.add_argument("--wp-url", help="WordPress's xmlrpc.php URL")
    ap.add_argument("--wp-target", help="URL of a WordPress post")
    a = ap.parse_args()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = a.tmp or tempfile.mkdtemp(prefix="pbd-bench-")
    status = 0
    try:
        if a.cmd == "run":
            cmd_run(tmp)
        elif a.cmd == "callgrind":
            status = cmd_callgrind(tmp, a.action, a.repeat)
        else:
            if not a.wp_url or not a.wp_target:
                ap.error("wordpress needs --wp-url and --wp-target")
            cmd_wordpress(tmp, a.wp_url, a.wp_target)
    finally:
        cleanup()
        if not a.tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
