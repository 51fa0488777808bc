#!/usr/bin/env python3
"""Shared support for pingbackd's black-box tests.

Starts the real daemon (PINGBACKD) on loopback with a configuration written
into a private temporary directory, captures and parses its log lines, and
offers TAP output, XML-RPC clients with timeouts, raw HTTP, and store reads.
Only the Python standard library is used.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("PBD_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("PBD_BUILDDIR") or SRCDIR
PINGBACKD = os.environ.get("PINGBACKD") or os.path.join(BUILDDIR, "src",
                                                         "pingbackd")
TESTDATA = os.environ.get("PBD_TESTDATA") or os.path.join(SRCDIR, "tests",
                                                          "data")
BBDATA = os.path.join(TESTDATA, "bb")
XMLRPC_CLI = os.environ.get("XMLRPC_CLI") or shutil.which("xmlrpc") or ""

# The target blog of most tests; never resolved (require_existing = no).
BLOG = "http://blog.example.com/"
ORIGIN_HOST = "127.0.0.2"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
              "ftp_proxy", "FTP_PROXY")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "WARNING: ThreadSanitizer",
                   "ERROR: UndefinedBehaviorSanitizer")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

_daemons = []
_tmpdirs = []
_cleanups = []


# ---------------------------------------------------------------- logfmt

_LOGFMT_TOKEN = re.compile(r' *([^ ="]+)=("(?:[^"\\]|\\.)*"|[^ "]*)')
_LOGFMT_ESC = re.compile(r'\\(x[0-9a-fA-F]{2}|.)')


def _unescape(m):
    e = m.group(1)
    return chr(int(e[1:], 16)) if len(e) == 3 else \
        {"n": "\n", "t": "\t", "r": "\r"}.get(e, e)


def parse_logfmt(line):
    """Parse one logfmt line into (fields, duplicate keys, well-formed).

    Quoted values take backslash escapes (\\" \\\\ \\n \\t \\r \\xNN).  A line
    that is not made only of key=value tokens (e.g. sanitizer output) is
    not well-formed."""
    fields, dups, pos = {}, [], 0
    if line.startswith("<") and ">" in line[:4]:
        pos = line.index(">") + 1
    while True:
        m = _LOGFMT_TOKEN.match(line, pos)
        if not m or m.end() == pos:
            break
        key, val = m.group(1), m.group(2)
        if val.startswith('"'):
            val = _LOGFMT_ESC.sub(_unescape, val[1:-1])
        if key in fields:
            dups.append(key)
        fields[key] = val
        pos = m.end()
        if pos < len(line) and line[pos] != " ":
            break
    return fields, dups, bool(fields) and line[pos:].strip() == ""


class LogLine:
    def __init__(self, raw, stream):
        self.raw = raw
        self.stream = stream
        self.time = time.monotonic()
        self.dups = []
        s = raw.lstrip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
                self.fields = {k: str(v) for k, v in obj.items()}
                self.wellformed = True
                self.json = True
            except ValueError:
                self.fields, self.wellformed, self.json = {}, False, False
        else:
            self.json = False
            self.fields, self.dups, self.wellformed = parse_logfmt(raw)

    def get(self, key, default=None):
        return self.fields.get(key, default)

    @property
    def event(self):
        return self.fields.get("event")



# ---------------------------------------------------------------- TAP

class TAP:
    """TAP producer: numbered ok/not ok lines, plan printed at the end.

    run(fn) calls fn() and turns an exception into a failed case, so one
    broken case does not lose the others.  A watchdog bails out if the
    whole file runs too long."""

    def __init__(self, name, watchdog=100):
        self.name = name
        self.n = 0
        self.failed = 0
        self.done_called = False
        sys.stdout.reconfigure(line_buffering=True)
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
        self._wd = threading.Timer(watchdog, self._bail,
                                   args=("watchdog: %s ran longer than %d s"
                                         % (name, watchdog),))
        self._wd.daemon = True
        self._wd.start()
        atexit.register(self._atexit)

    def _bail(self, why):
        print("Bail out! %s" % why, flush=True)
        _kill_all()
        _rm_tmpdirs()
        os._exit(1)

    def ok(self, cond, desc, *diags):
        self.n += 1
        desc = desc.replace("#", "\\#").replace("\n", " ")
        if cond:
            print("ok %d - %s" % (self.n, desc))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc))
            for d in diags:
                self.diag(d)
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "want: %r" % (want,),
                       "got:  %r" % (got,))

    def skip(self, desc, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, reason))

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line)

    def run(self, fn, *args):
        name = getattr(fn, "__name__", "case")
        t0 = time.monotonic()
        try:
            fn(*args)
        except Exception as e:  # a broken case must not end the file
            self.ok(False, "%s: raised %s: %s" % (name, type(e).__name__, e))
            self.diag(traceback.format_exc())
        took = time.monotonic() - t0
        if took > 3:
            self.diag("%s took %.1f s" % (name, took))

    def done(self):
        self.done_called = True
        for d in list(_daemons):
            if d.check_exit:
                self.check_daemon(d)
        print("1..%d" % self.n)
        self._wd.cancel()
        return 0

    def start(self, d):
        """Start the file's main daemon; bail out (with its log) if not."""
        try:
            return d.start()
        except Exception as e:
            for l in d.lines[-30:]:
                self.diag("%s: %s" % (d.name, l.raw))
            self._bail("daemon %s did not start: %s" % (d.name,
                                                       str(e).splitlines()[0]))

    def check_daemon(self, d):
        """Stop d (if running) and assert a clean SIGTERM exit."""
        d.check_exit = False
        rc = d.stop()
        san = d.sanitizer_lines()
        self.ok(rc == 0 and not san,
                "daemon %s: exit status 0 after SIGTERM, no sanitizer report"
                % d.name, "exit status: %r" % rc,
                *["stderr: " + l.raw for l in san[:20]])
        if rc != 0 or san:
            d.dump_log(self, tail=40)

    def _atexit(self):
        if not self.done_called:
            # an uncaught crash: say so in TAP before the plan is missing
            print("Bail out! %s ended without finishing" % self.name)
        _kill_all()
        _rm_tmpdirs()


def skip_all(reason):
    print("1..0 # SKIP %s" % reason)
    sys.exit(0)


def require_daemon():
    """Skip the whole file when the daemon binary is not there."""
    if not os.path.isfile(PINGBACKD) or not os.access(PINGBACKD, os.X_OK):
        skip_all("daemon binary %s not built" % PINGBACKD)


def mktmp(tag="bb"):
    d = tempfile.mkdtemp(prefix="pbd-%s-" % tag)
    _tmpdirs.append(d)
    return d


def _rm_tmpdirs():
    for fn in reversed(_cleanups):
        try:
            fn()
        except Exception:
            pass
    del _cleanups[:]
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    del _tmpdirs[:]


def at_cleanup(fn):
    _cleanups.append(fn)


def _kill_all():
    for d in _daemons:
        d.kill()


def wait_until(cond, timeout=10.0, interval=0.02):
    """Poll cond() until true or timeout; return its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def free_port(host="127.0.0.2"):
    """A port on host with nothing listening (for 'connection refused')."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- config

def base_config(tmp, allow=None, **sections):
    """The configuration most tests start from, as {section: {key: val}}.

    sections: per-section dicts merged over the defaults; a value of None
    removes the key."""
    conf = {
        "server": {"listen": "127.0.0.1:0",
                   "public_url": "http://127.0.0.1:8080",
                   "xmlrpc_path": "/xmlrpc"},
        "targets": {"allow": allow or BLOG, "require_existing": "no"},
        "fetch": {"timeout": "5", "max_bytes": "1048576",
                  "max_redirects": "5", "allow_networks": "127.0.0.2/32",
                  "max_concurrent": "32", "max_per_host": "8",
                  "user_agent": "pingbackd-bb-test"},
        "store": {"path": os.path.join(tmp, "mentions.sqlite"),
                  "default_status": "pending"},
        "limits": {"client_burst": "0", "source_host_per_minute": "0",
                   "fetch_cache_ttl": "0"},
        "log": {"level": "info", "format": "logfmt"},
    }
    for sec, kv in sections.items():
        conf.setdefault(sec, {})
        for k, v in kv.items():
            if v is None:
                conf[sec].pop(k, None)
            else:
                conf[sec][k] = v
    return conf


def write_config(path, sections):
    """Write sections as INI; return {(section, key): line number}."""
    lines, where = ["; written by tests/bb/harness.py"], {}
    for sec, kv in sections.items():
        lines.append("")
        lines.append("[%s]" % sec)
        for k, v in kv.items():
            vals = v if isinstance(v, (list, tuple)) else [v]
            for one in vals:
                lines.append("%s = %s" % (k, one))
                where[(sec, k)] = len(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return where


def clean_env(extra=None):
    env = dict(os.environ)
    for k in PROXY_VARS + ("JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_FDS",
                           "LISTEN_PID"):
        env.pop(k, None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    if extra:
        env.update(extra)
    return env


def run_cmd(args, timeout=20, env=None):
    """Run the daemon binary (or anything) to completion; (rc, out, err)."""
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=env or clean_env())
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ---------------------------------------------------------------- daemon

class _TimeoutTransport(xmlrpc.client.Transport):
    """xmlrpc.client transport with a timeout and, optionally, a local
    address to connect from (client="127.0.0.5": any 127/8 address is
    a different client to the daemon)."""

    def __init__(self, timeout, client=None):
        super().__init__()
        self._timeout = timeout
        self._client = client

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        if self._client is not None:
            conn.source_address = (self._client, 0)
        return conn


class Result:
    """Outcome of one XML-RPC call: a value, a fault, or an error."""

    def __init__(self):
        self.value = None
        self.fault = None          # fault code (int) or None
        self.fault_string = None
        self.error = None          # transport/protocol exception
        self.elapsed = 0.0

    @property
    def ok(self):
        return self.fault is None and self.error is None

    def __repr__(self):
        if self.error is not None:
            return "<error %r after %.2fs>" % (self.error, self.elapsed)
        if self.fault is not None:
            return "<fault %r %r after %.2fs>" % (self.fault,
                                                  self.fault_string,
                                                  self.elapsed)
        return "<value %r after %.2fs>" % (self.value, self.elapsed)


class Daemon:
    """One pingbackd process with its own config in a temp directory."""

    def __init__(self, tmp, sections, name="pbd", env=None, wrap=None,
                 pass_fds=()):
        """wrap: argv run in front of the daemon's (a program that ends
        by exec'ing it, e.g. systemd-socket-activate); pass_fds: kept
        open in the child."""
        self.tmp = tmp
        self.name = name
        self.sections = sections
        self.conf_path = os.path.join(tmp, name + ".conf")
        self.where = write_config(self.conf_path, sections)
        self.env = clean_env(env)
        self.wrap = list(wrap or [])
        self.pass_fds = tuple(pass_fds)
        self.proc = None
        self.lines = []
        self.addrs = []
        self.rc = None
        self.check_exit = False
        self._cv = threading.Condition()
        self._readers = []

    # -- process

    def start(self, wait=True, timeout=10):
        self.proc = subprocess.Popen(
            self.wrap + [PINGBACKD, "-c", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env, cwd=self.tmp,
            pass_fds=self.pass_fds)
        _daemons.append(self)
        self.check_exit = True
        for stream, tag in ((self.proc.stderr, "stderr"),
                            (self.proc.stdout, "stdout")):
            t = threading.Thread(target=self._reader, args=(stream, tag),
                                 daemon=True)
            t.start()
            self._readers.append(t)
        if wait:
            if not self.wait_ready(timeout):
                raise RuntimeError(
                    "daemon %s not ready within %ss (exit status %r); log:\n%s"
                    % (self.name, timeout, self.proc.poll(),
                       "\n".join(l.raw for l in self.lines[-30:])))
        return self

    def _reader(self, stream, tag):
        for raw in iter(stream.readline, b""):
            line = LogLine(raw.decode("utf-8", "replace").rstrip("\r\n"), tag)
            with self._cv:
                self.lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_ready(self, timeout=10):
        if not self.wait_log("ready", timeout=timeout):
            return False
        self.addrs = []
        for l in self.lines:
            if l.event == "listening" and l.get("addr"):
                self.addrs.append(l.get("addr"))
        return bool(self.addrs)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM, bounded wait, SIGKILL on timeout; return exit status."""
        if self.proc is None:
            return None
        if self.rc is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.rc = "killed after %ss without exiting" % timeout
            for t in self._readers:
                t.join(5)
        return self.rc

    def wait_exit(self, timeout=15):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._readers:
            t.join(5)
        self.rc = rc
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    # -- logs

    def mark(self):
        with self._cv:
            return len(self.lines)

    def find(self, event=None, since=0, **fields):
        with self._cv:
            lines = self.lines[since:]
        out = []
        for l in lines:
            if event is not None and l.event != event:
                continue
            if all(l.get(k) == str(v) for k, v in fields.items()):
                out.append(l)
        return out

    def wait_log(self, event=None, timeout=10, since=0, **fields):
        """Wait (bounded) for a line with event and fields; None if none."""
        end = time.monotonic() + timeout
        while True:
            found = self.find(event, since, **fields)
            if found:
                return found[0]
            left = end - time.monotonic()
            if left <= 0:
                return None
            with self._cv:
                if self.proc.poll() is not None and \
                        not any(t.is_alive() for t in self._readers):
                    found = self.find(event, since, **fields)
                    return found[0] if found else None
                self._cv.wait(min(left, 0.2))

    def sanitizer_lines(self):
        return [l for l in self.lines
                if any(m in l.raw for m in SANITIZER_MARKS)]

    def dump_log(self, tap, tail=30):
        for l in self.lines[-tail:]:
            tap.diag("%s: %s" % (self.name, l.raw))

    # -- clients

    @property
    def path(self):
        return self.sections.get("server", {}).get("xmlrpc_path", "/xmlrpc")

    def hostport(self, i=0):
        addr = self.addrs[i]
        host, port = addr.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def url(self, i=0):
        return "http://%s%s" % (self.addrs[i], self.path)

    def proxy(self, timeout=20, i=0, client=None):
        return xmlrpc.client.ServerProxy(
            self.url(i), transport=_TimeoutTransport(timeout, client))

    def call(self, method, *args, timeout=20, i=0, client=None):
        """Call method (from local address client, if given); return a
        Result (never raises)."""
        r = Result()
        t0 = time.monotonic()
        try:
            r.value = getattr(self.proxy(timeout, i, client), method)(*args)
        except xmlrpc.client.Fault as f:
            r.fault, r.fault_string = f.faultCode, f.faultString
        except Exception as e:
            r.error = e
        r.elapsed = time.monotonic() - t0
        return r

    def ping(self, source, target, timeout=20, i=0, client=None):
        return self.call("pingback.ping", source, target, timeout=timeout,
                         i=i, client=client)

    def http(self, method, path, body=None, headers=None, timeout=15, i=0,
             client=None):
        """Raw HTTP; return (status, headers dict, body bytes)."""
        host, port = self.hostport(i)
        return raw_http(host, port, method, path, body, headers, timeout,
                        client)

    # -- process state

    def status_kib(self, key="VmRSS"):
        """A kB value of /proc/PID/status (VmRSS: resident memory);
        None if the process is gone or the key missing."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def rss_kib(self):
        return self.status_kib("VmRSS")

    def fds(self, kind=None):
        """Open descriptors of the daemon, or only those whose link
        starts with kind (e.g. "socket:"); None if it is gone."""
        base = "/proc/%d/fd" % self.proc.pid
        try:
            names = os.listdir(base)
        except OSError:
            return None
        if kind is None:
            return len(names)
        n = 0
        for fd in names:
            try:
                if os.readlink(os.path.join(base, fd)).startswith(kind):
                    n += 1
            except OSError:
                pass
        return n

    def sanitized(self):
        """Is the daemon built with AddressSanitizer?"""
        try:
            with open("/proc/%d/maps" % self.proc.pid) as f:
                if "libasan" in f.read():
                    return True
            with open(PINGBACKD, "rb") as f:
                return b"__asan_init" in f.read()
        except OSError:
            return False

    def post_xml(self, body, timeout=15, path=None, i=0):
        """POST a raw body to the XML-RPC path; return (status, Result)."""
        st, hdrs, data = self.http("POST", path or self.path, body,
                                   {"Content-Type": "text/xml"}, timeout, i)
        return st, decode_response(data), data

    # -- store

    @property
    def store_path(self):
        return self.sections["store"]["path"]

    def rows(self, where="1=1", args=()):
        return store_rows(self.store_path, where, args)

    def deliveries(self, where="1=1", args=()):
        return delivery_rows(self.store_path, where, args)

    def children(self):
        """[(pid, state letter)] of the daemon's direct children."""
        if self.proc is None:
            return []
        return [(c, proc_state(c)) for c in proc_children(self.proc.pid)]


def raw_http(host, port, method, path, body=None, headers=None, timeout=15,
             client=None):
    conn = http.client.HTTPConnection(
        host, port, timeout=timeout,
        source_address=(client, 0) if client is not None else None)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def decode_response(data):
    """Decode an XML-RPC methodResponse into a Result."""
    r = Result()
    try:
        (r.value,), _ = xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as f:
        r.fault, r.fault_string = f.faultCode, f.faultString
    except Exception as e:
        r.error = e
    return r


def method_call(method, *params):
    return xmlrpc.client.dumps(tuple(params), methodname=method)


def store_rows(path, where="1=1", args=()):
    """Rows of mentions as dicts; text columns as str, with '__bad_utf8'
    listing the columns whose bytes are not valid UTF-8."""
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    db.text_factory = bytes
    try:
        cur = db.execute("SELECT * FROM mentions WHERE %s ORDER BY id"
                         % where, args)
        names = [c[0] for c in cur.description]
        out = []
        for row in cur.fetchall():
            d, bad = {}, []
            for k, v in zip(names, row):
                if isinstance(v, bytes):
                    try:
                        v = v.decode("utf-8")
                    except UnicodeDecodeError:
                        bad.append(k)
                        v = v.decode("utf-8", "replace")
                d[k] = v
            d["__bad_utf8"] = bad
            out.append(d)
        return out
    finally:
        db.close()


def store_sql(path, sql, args=()):
    """Run one read-only query on the store at path; rows as dicts, text
    as str (bytes that are not UTF-8 replaced)."""
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    db.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        cur = db.execute(sql, args)
        names = [c[0] for c in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        db.close()


def delivery_rows(path, where="1=1", args=()):
    """Rows of the outbox table deliveries, as dicts."""
    return store_sql(path, "SELECT * FROM deliveries WHERE %s"
                     " ORDER BY mention_id, sink" % where, args)


def idempotency_key(source_norm, target_norm):
    """The documented key of a mention (doc/SINKS.md)."""
    import hashlib
    return hashlib.sha256(("%s\n%s" % (source_norm, target_norm))
                          .encode("utf-8")).hexdigest()


def proc_children(pid):
    """Pids of the direct children of pid (all its threads'), from /proc."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    return sorted(set(out))


def proc_state(pid):
    """The state letter of pid (R, S, Z ...) and its parent's pid, as
    "Z 123"; None if there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    return "%s %s" % (rest[0], rest[1]) if len(rest) > 1 else None


class RssWatch:
    """Samples a daemon's VmRSS every 50 ms while a block runs; then
    check() asserts it grew by less than limit_mib (more is allowed under
    AddressSanitizer, which quarantines freed memory)."""

    def __init__(self, tap, daemon, desc, limit_mib=64):
        self.t, self.d, self.desc = tap, daemon, desc
        self.limit = limit_mib * 1024
        if daemon.sanitized():
            self.limit += 64 * 1024
        self.before = self.peak = None
        self.stop = threading.Event()

    def _run(self):
        for _ in range(20 * 600):           # at most 10 minutes
            r = self.d.rss_kib()
            if r is not None:
                self.peak = max(self.peak or 0, r)
            if self.stop.wait(0.05):
                return

    def __enter__(self):
        self.before = self.d.rss_kib()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.th.join(5)
        after = self.d.rss_kib()
        peak = max(x for x in (self.peak, after, self.before, 0)
                   if x is not None)
        self.t.ok(self.before is not None and after is not None and
                  peak - self.before < self.limit,
                  "%s: bounded memory (VmRSS grew < %d MiB)"
                  % (self.desc, self.limit // 1024),
                  "VmRSS before %s kB, peak %s kB, after %s kB"
                  % (self.before, peak, after))
        return False
