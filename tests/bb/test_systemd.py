#!/usr/bin/env python3
"""systemd integration, without systemd: the notify protocol (READY=1
once listening, STATUS= with live counts, WATCHDOG=1 from the event
loop, RELOADING=1 + MONOTONIC_USEC= / READY=1 around SIGHUP,
STOPPING=1), socket activation through systemd-socket-activate (a real
pingback through the passed socket, kept across SIGHUP), refusing to
start with no listener, passed descriptors that are not listening
sockets, and journald: the "<N>" stderr prefix, and the native journal
fields (SOURCE_URL=, TARGET_URL=, PINGBACK_ID=, FAULT_CODE=) against a
journald started by hand in a private mount namespace when that is
possible here (root, unshare), skipped with the reason otherwise."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, Origin  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_systemd", watchdog=170)
tmp = harness.mktmp("systemd")
origin = Origin(harness.ORIGIN_HOST)
SSA = os.environ.get("SYSTEMD_SOCKET_ACTIVATE", "")
JOURNALD = "/lib/systemd/systemd-journald"
HOST_JOURNAL = "/run/systemd/journal/socket"
SAN_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
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


def ping_url(url, source, target, timeout=20):
    """pingback.ping to an XML-RPC URL; a harness Result."""
    import xmlrpc.client
    r = harness.Result()
    t0 = time.monotonic()
    try:
        r.value = xmlrpc.client.ServerProxy(
            url, transport=harness._TimeoutTransport(timeout)).pingback.ping(
            source, target)
    except xmlrpc.client.Fault as f:
        r.fault, r.fault_string = f.faultCode, f.faultString
    except Exception as e:
        r.error = e
    r.elapsed = time.monotonic() - t0
    return r


def empty_listen_legal():
    """Is `listen =` (no address: sockets from systemd only) accepted?"""
    d = sub("probe")
    conf = harness.base_config(d, server={"listen": ""})
    path = os.path.join(d, "empty.conf")
    harness.write_config(path, conf)
    rc, out, err = harness.run_cmd([harness.PINGBACKD, "-t", "-c", path])
    return rc == 0


class Notify:
    """An AF_UNIX datagram socket standing in for systemd's
    NOTIFY_SOCKET: records every message with its arrival time.  on_msg
    (if given) runs in the reader thread as soon as a message comes."""

    def __init__(self, path, on_msg=None):
        self.path = path
        self.msgs = []          # (monotonic time, text)
        self.on_msg = on_msg
        self._cv = threading.Condition()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self._stop = False
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()
        harness.at_cleanup(self.close)

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode("utf-8", "replace")
            if self.on_msg is not None:
                self.on_msg(text)
            with self._cv:
                self.msgs.append((time.monotonic(), text))
                self._cv.notify_all()

    def close(self):
        self._stop = True
        self._th.join(2)
        self.sock.close()

    def mark(self):
        with self._cv:
            return len(self.msgs)

    def since(self, mark=0):
        with self._cv:
            return list(self.msgs[mark:])

    def wait(self, pred, since=0, timeout=10):
        """First message after mark for which pred(text) holds, or None."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                for tm, text in self.msgs[since:]:
                    if pred(text):
                        return tm, text
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(min(left, 0.2))

    def index(self, pred, since=0):
        with self._cv:
            for i, (tm, text) in enumerate(self.msgs[since:], since):
                if pred(text):
                    return i
        return None


def has(assign):
    """Predicate: the message has the line assign ("READY=1")."""
    return lambda text: assign in text.split("\n")


def field(text, name):
    for line in text.split("\n"):
        if line.startswith(name + "="):
            return line[len(name) + 1:]
    return None


def start_on_free_port(make, tries=4):
    """make(port) -> Daemon; start it on a port that was free a moment
    ago, again with another port if someone took it meanwhile."""
    for _ in range(tries):
        port = harness.free_port("127.0.0.1")
        d = make(port)
        d.start(wait=False)
        if d.wait_log("ready", timeout=15):
            d.wait_ready(1)
            return d, port
        d.wait_exit(5)
        if not any("Address already in use" in l.raw for l in d.lines):
            raise RuntimeError("daemon did not start:\n" +
                               "\n".join(l.raw for l in d.lines[-20:]))
    raise RuntimeError("no free port after %d tries" % tries)


# ------------------------------------------------------------ (a) notify

def test_notify():
    dd = sub("notify")
    state = {"port": None, "ready_connect": []}

    def on_msg(text):
        # READY=1 must mean "accepting": connect at once, from here.
        if "READY=1" in text.split("\n") and state["port"]:
            try:
                socket.create_connection(("127.0.0.1", state["port"]),
                                         timeout=2).close()
                state["ready_connect"].append(True)
            except OSError as e:
                state["ready_connect"].append(e)

    ns = Notify(os.path.join(dd, "notify.sock"), on_msg)

    def make(port):
        state["port"] = port
        conf = harness.base_config(dd, server={
            "listen": "127.0.0.1:%d" % port})
        # WATCHDOG_PID must be the daemon's pid: the shell execs it.
        return harness.Daemon(dd, conf, name="notify", env={
            "NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"},
            wrap=["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; '
                  'exec "$0" "$@"'])

    d, port = start_on_free_port(make)
    got = ns.wait(has("READY=1"), timeout=10)
    t.ok(got is not None, "READY=1 sent", *[m for _, m in ns.since()])
    harness.wait_until(lambda: state["ready_connect"], timeout=5)
    t.ok(state["ready_connect"][:1] == [True],
         "at READY=1 the listen address already accepts connections",
         "connect at READY=1: %r" % state["ready_connect"])
    ev = [l.event for l in d.lines]
    t.ok("listening" in ev and "ready" in ev and
         ev.index("listening") < ev.index("ready"),
         "event=listening logged before event=ready", "%r" % ev)
    got = ns.wait(lambda m: (field(m, "STATUS") or "").startswith(
        "serving:"), timeout=10)
    st = got[1] if got else ""
    t.ok(re.search(r"STATUS=serving: 0 in flight, 0 accepted, 0 rejected, "
                   r"\d+ connections", st),
         "STATUS= after READY=1: state and live counts", st)
    wd = d.wait_log("watchdog", timeout=5)
    t.ok(wd is not None and wd.get("interval_ms") == "200",
         "WATCHDOG_USEC=400000: event=watchdog interval_ms=200 logged",
         wd.raw if wd else "")

    # WATCHDOG=1 every 200 ms: count them over 2 s.
    mark = ns.mark()
    time.sleep(2.0)
    n = sum(1 for _, m in ns.since(mark) if "WATCHDOG=1" in m.split("\n"))
    t.ok(n >= 5, "WATCHDOG=1 sent repeatedly: %d within 2 s" % n)

    # Live counts: an accepted and a rejected pingback show in STATUS=.
    src, tg = fresh("notify")
    r = d.ping(src, tg)
    t.ok(r.ok, "pingback accepted", "got %r" % (r,))
    r = d.ping(src, "http://elsewhere.example/post")
    t.ok(r.fault == 33, "pingback to another blog: fault 33", "got %r" % (r,))
    got = ns.wait(lambda m: "1 accepted, 1 rejected, 0 connections" in (
        field(m, "STATUS") or ""), since=mark, timeout=8)
    t.ok(got is not None, "STATUS= refreshed on its timer: 1 accepted, "
         "1 rejected", *[m for _, m in ns.since(mark) if "STATUS" in m])
    # ...and only when something changed.
    time.sleep(0.1)
    mark = ns.mark()
    time.sleep(4.5)
    sts = [m for _, m in ns.since(mark) if field(m, "STATUS")]
    t.ok(not sts, "no STATUS= while nothing changes", *sts)

    # SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    mark = ns.mark()
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    d.signal(signal.SIGHUP)
    got = ns.wait(has("RELOADING=1"), since=mark, timeout=10)
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    t.ok(got is not None, "SIGHUP: RELOADING=1 sent")
    mono = field(got[1], "MONOTONIC_USEC") if got else None
    t.ok(mono is not None and mono.isdigit() and
         before - 1 <= int(mono) / 1e6 <= after + 1,
         "RELOADING=1 comes with MONOTONIC_USEC= of CLOCK_MONOTONIC",
         "got %r, window %.3f..%.3f" % (mono, before, after))
    i_rel = ns.index(has("RELOADING=1"), since=mark)
    got = ns.wait(has("READY=1"), since=(i_rel or mark) + 1, timeout=10)
    t.ok(i_rel is not None and got is not None,
         "READY=1 after RELOADING=1", *[m for _, m in ns.since(mark)])
    t.ok(d.wait_log("config.reloaded", timeout=5) is not None,
         "config.reloaded logged")

    # A refused reload still ends with READY=1, and STATUS= says so.
    conf = dict(d.sections)
    conf["fetch"] = dict(conf["fetch"], no_such_key="1")
    harness.write_config(d.conf_path, conf)
    mark = ns.mark()
    d.signal(signal.SIGHUP)
    i_rel = None
    if ns.wait(has("RELOADING=1"), since=mark, timeout=10):
        i_rel = ns.index(has("RELOADING=1"), since=mark)
    got = ns.wait(has("READY=1"), since=(i_rel or mark) + 1, timeout=10)
    t.ok(i_rel is not None and got is not None,
         "rejected reload: RELOADING=1, then READY=1 again")
    got = ns.wait(lambda m: "last reload refused" in (field(m, "STATUS") or
                                                      ""),
                  since=mark, timeout=5)
    t.ok(got is not None, "rejected reload: STATUS= says "
         "\"last reload refused\"", *[m for _, m in ns.since(mark)])
    harness.write_config(d.conf_path, d.sections)

    # SIGTERM: STOPPING=1, then a clean exit.
    mark = ns.mark()
    rc = d.stop()
    got = ns.wait(has("STOPPING=1"), since=mark, timeout=5)
    t.ok(got is not None, "SIGTERM: STOPPING=1 sent",
         *[m for _, m in ns.since(mark)])
    t.ok(rc == 0 and not d.sanitizer_lines(), "exit status 0 after SIGTERM",
         "exit status %r" % (rc,))
    d.check_exit = False
    if rc != 0:
        d.dump_log(t)


def test_watchdog_other_pid():
    """WATCHDOG_PID of another process: the watchdog is not ours."""
    dd = sub("wdpid")
    ns = Notify(os.path.join(dd, "notify.sock"))
    d = harness.Daemon(dd, harness.base_config(dd), name="wdpid", env={
        "NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000",
        "WATCHDOG_PID": "1"})
    t.start(d)
    ns.wait(has("READY=1"), timeout=5)
    time.sleep(1.0)
    n = sum(1 for _, m in ns.since() if "WATCHDOG=1" in m.split("\n"))
    t.ok(n == 0 and not d.find("watchdog"),
         "WATCHDOG_PID=1 (not us): no WATCHDOG=1", "%d sent" % n)
    t.check_daemon(d)


# ------------------------------------------------- (b) socket activation

def activated_daemon(dd, name, listen, port, fdname=None):
    conf = harness.base_config(dd, server={"listen": listen})
    wrap = [SSA, "-l", "127.0.0.1:%d" % port]
    if fdname:
        wrap.append("--fdname=" + fdname)
    # systemd-socket-activate passes on only what -E names.
    env = harness.clean_env()
    wrap += sum((["-E", k] for k in SAN_ENV if k in env), [])
    return harness.Daemon(dd, conf, name=name, wrap=wrap)


def start_activated(dd, name, listen, fdname=None, tries=4):
    """Start through systemd-socket-activate, which listens and execs
    the daemon on the first connection; return (daemon, port)."""
    for _ in range(tries):
        port = harness.free_port("127.0.0.1")
        d = activated_daemon(dd, name, listen(port), port, fdname)
        d.start(wait=False)
        ok = harness.wait_until(
            lambda: any("Listening on" in l.raw for l in d.lines) or
            not d.running(), timeout=10)
        if ok and d.running():
            return d, port
        d.wait_exit(5)
        if not any("in use" in l.raw for l in d.lines):
            raise RuntimeError("systemd-socket-activate failed:\n" +
                               "\n".join(l.raw for l in d.lines[-20:]))
    raise RuntimeError("no free port after %d tries" % tries)


def test_activation():
    if not SSA:
        t.skip("socket activation", "systemd-socket-activate not found "
               "at configure time (SYSTEMD_SOCKET_ACTIVATE empty)")
        return
    dd = sub("activate")
    if empty_listen_legal():
        how, listen = "listen = (empty)", lambda port: ""
    else:
        # Until `listen =` is legal: a config address that is elsewhere.
        how = "listen = unix:... (an empty listen is not legal yet)"
        sock = os.path.join(dd, "cfg.sock")
        listen = lambda port: "unix:" + sock  # noqa: E731
    t.diag("activation config: " + how)
    d, port = start_activated(dd, "activate", listen, fdname="http")
    t.ok(not d.find("ready"), "systemd-socket-activate waits for the first "
         "connection before it starts the daemon")
    src, tg = fresh("act")
    # This first connection is what starts the daemon: it waits in the
    # passed socket's backlog and is answered once the daemon is up.
    r = ping_url("http://127.0.0.1:%d/xmlrpc" % port, src, tg)
    t.ok(r.ok, "pingback through the activated socket accepted "
         "(the connection that started the daemon)", "got %r" % (r,))
    t.ok(d.wait_ready(10), "daemon ready")
    line = d.wait_log("listening", activated="yes", timeout=5)
    t.ok(line is not None and line.get("addr") == "127.0.0.1:%d" % port and
         line.get("fd") == "3" and line.get("name") == "http",
         "logged: event=listening addr=127.0.0.1:%d fd=3 activated=yes "
         "name=http" % port, line.raw if line else d.lines[-1].raw)
    rows = d.rows("target = ?", (tg,))
    t.ok(len(rows) == 1 and rows[0]["client_ip"] == "127.0.0.1",
         "the activated pingback is stored", "rows %r" % rows)
    n_listening = len(d.find("listening"))

    # SIGHUP keeps the activated socket as it is.
    mark = d.mark()
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("config.reloaded", since=mark, timeout=10) is not None,
         "SIGHUP: config.reloaded", *[l.raw for l in d.lines[mark:]])
    t.ok(not d.find("listening", since=mark) and
         len(d.find("listening")) == n_listening,
         "SIGHUP: the activated socket is kept, not bound again")
    src, tg = fresh("act")
    r = ping_url("http://127.0.0.1:%d/xmlrpc" % port, src, tg)
    t.ok(r.ok, "after SIGHUP: pingback through the activated socket",
         "got %r" % (r,))
    t.check_daemon(d)


def test_activation_covered():
    """The config's listen names the activated address (the sample
    config with pingbackd.socket): not bound twice, served once."""
    if not SSA:
        t.skip("activated address also in server.listen",
               "systemd-socket-activate not found")
        return
    dd = sub("covered")
    d, port = start_activated(dd, "covered",
                              lambda port: "127.0.0.1:%d" % port)
    src, tg = fresh("cov")
    r = ping_url("http://127.0.0.1:%d/xmlrpc" % port, src, tg)
    t.ok(r.ok, "listen = the activated address: daemon starts and serves",
         "got %r" % (r,), *[l.raw for l in d.lines[-10:]])
    line = d.wait_log("listen.covered", timeout=5)
    t.ok(line is not None and line.get("addr") == "127.0.0.1:%d" % port and
         line.get("fd") == "3",
         "logged: event=listen.covered addr=127.0.0.1:%d fd=3" % port,
         line.raw if line else "")
    t.check_daemon(d)


# --------------------------------------------------- (c) no listener

def passed_fd_wrapper():
    """A wrapper that makes fd argv[1] the daemon's fd 3 and sets
    LISTEN_FDS=1, LISTEN_PID=its own pid (the daemon's, after exec)."""
    return [sys.executable, "-c",
            "import os, sys\n"
            "fd = int(sys.argv[1])\n"
            "os.dup2(fd, 3)\n"
            "os.close(fd)\n"
            "os.environ['LISTEN_FDS'] = '1'\n"
            "os.environ['LISTEN_PID'] = str(os.getpid())\n"
            "os.execv(sys.argv[2], sys.argv[2:])\n"]


def test_no_listener():
    dd = sub("nolisten")
    if not empty_listen_legal():
        t.skip("no listen and no activated socket: refused",
               "`listen =` (empty) is not legal in the configuration yet")
        return
    conf = harness.base_config(dd, server={"listen": ""})
    d = harness.Daemon(dd, conf, name="nolisten")
    d.start(wait=False)
    rc = d.wait_exit(10)
    err = "\n".join(l.raw for l in d.lines)
    t.ok(rc not in (0, None), "no listener at all: exit status non-zero",
         "exit status %r" % (rc,))
    t.ok("no listener" in err and "server.listen is empty" in err,
         "no listener at all: a clear fatal message", err)
    d.check_exit = False


def test_passed_not_socket():
    """LISTEN_FDS naming a pipe: warned about and closed, and the
    daemon runs on server.listen."""
    dd = sub("notsock")
    r, w = os.pipe()
    pipe = "pipe:[%d]" % os.fstat(r).st_ino
    try:
        d = harness.Daemon(dd, harness.base_config(dd), name="notsock",
                           wrap=passed_fd_wrapper() + [str(r)],
                           pass_fds=(r,))
        t.start(d)
    finally:
        os.close(r)
    line = d.wait_log("listen.ignored", timeout=5)
    t.ok(line is not None and line.get("fd") == "3" and
         line.get("level") == "warning",
         "passed fd 3 that is not a listening socket: listen.ignored",
         line.raw if line else "")
    os.close(w)     # fd 3 closed in the daemon: nothing else holds r
    src, tg = fresh("notsock")
    res = d.ping(src, tg)
    t.ok(res.ok, "still served on server.listen", "got %r" % (res,))
    t.ok(d.fds(pipe) == 0, "the passed pipe is closed in the daemon",
         "%s open: %r" % (pipe, d.fds(pipe)))
    t.check_daemon(d)


# ------------------------------------------------------- (d) journald

def test_journal_prefix():
    """JOURNAL_STREAM that is not our stderr (no journald): the "<N>"
    prefixed lines of the stream protocol."""
    dd = sub("prefix")
    d = harness.Daemon(dd, harness.base_config(dd), name="prefix",
                       env={"JOURNAL_STREAM": "1:1"})
    t.start(d)
    rd = d.find("ready")
    ls = d.find("listening")
    t.ok(rd and rd[0].raw.startswith("<5>level=notice event=ready") and
         ls and ls[0].raw.startswith("<6>level=info event=listening"),
         "JOURNAL_STREAM set, no journal: <5>/<6> prefixed stderr lines",
         *[l.raw for l in d.lines[:5]])
    t.ok(rd and " ts=" not in rd[0].raw,
         "no ts= (journald stamps lines itself)", rd[0].raw if rd else "")
    t.check_daemon(d)


JOURNALD_CONF = """[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
RuntimeMaxUse=16M
"""

# Run in a private mount namespace: a tmpfs on /run (the host's /run is
# untouched), journald on it, then the daemon with stderr connected to
# journald's stream and JOURNAL_STREAM naming that stream, as systemd
# would do.
JOURNALD_SCRIPT = r"""
set -e
mount -t tmpfs -o mode=0755,size=32m pbd-test-run /run
mkdir -p /run/systemd/journal /run/log/journal /run/systemd/journald.conf.d
cp "$PBD_T/journald.conf" /run/systemd/journald.conf.d/pbd-test.conf
env -u NOTIFY_SOCKET "$PBD_JOURNALD" </dev/null >"$PBD_T/journald.log" 2>&1 &
echo $! > "$PBD_T/journald.pid"
i=0
while [ ! -S /run/systemd/journal/socket ] ||
    [ ! -S /run/systemd/journal/stdout ]; do
	i=$((i + 1))
	[ $i -le 200 ] || { echo "journald did not start" >&2; exit 3; }
	sleep 0.05
done
exec systemd-cat -t pingbackd-stderr sh -c \
    'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); export JOURNAL_STREAM; exec "$0" "$@"' \
    "$PINGBACKD" -c "$PBD_CONF"
"""


def journald_unavailable():
    """Why a private journald cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot make a private mount namespace"
    for tool in ("unshare", "nsenter", "journalctl", "systemd-cat", "stat"):
        if not shutil.which(tool):
            return "%s not installed" % tool
    if not os.access(JOURNALD, os.X_OK):
        return "%s not installed" % JOURNALD
    rc = subprocess.run(["unshare", "-m", "--propagation", "private",
                         "true"], capture_output=True, timeout=10)
    if rc.returncode != 0:
        return "unshare -m not permitted: %s" % rc.stderr.decode(
            "utf-8", "replace").strip()
    return None


def journal_query(jpid, *matches):
    """journalctl -o json in journald's namespace: a list of entries."""
    p = subprocess.run(
        ["nsenter", "--mount=/proc/%d/ns/mnt" % jpid, "--",
         "journalctl", "-D", "/run/log/journal", "-o", "json",
         "--no-pager", "-q"] + list(matches),
        capture_output=True, timeout=20)
    out = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_journald():
    if not os.path.exists(HOST_JOURNAL):
        t.skip("journald fields in the system journal",
               "%s is absent: no journald here (PID 1 is not systemd)"
               % HOST_JOURNAL)
    why = journald_unavailable()
    if why is not None:
        t.skip("journald fields, private journald", why)
        return
    dd = sub("journald")
    with open(os.path.join(dd, "journald.conf"), "w") as f:
        f.write(JOURNALD_CONF)
    ns = Notify(os.path.join(dd, "notify.sock"))
    port = harness.free_port("127.0.0.1")
    conf = harness.base_config(dd, server={"listen": "127.0.0.1:%d" % port})
    cpath = os.path.join(dd, "pbd.conf")
    harness.write_config(cpath, conf)
    env = harness.clean_env({"PBD_T": dd, "PBD_CONF": cpath,
                             "PBD_JOURNALD": JOURNALD,
                             "PINGBACKD": harness.PINGBACKD,
                             "NOTIFY_SOCKET": ns.path})
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private",
                             "sh", "-c", JOURNALD_SCRIPT],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=dd)
    jpid = [None]

    def cleanup():
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if jpid[0]:
            try:
                os.kill(jpid[0], signal.SIGTERM)
            except OSError:
                pass
    harness.at_cleanup(cleanup)
    pidfile = os.path.join(dd, "journald.pid")
    harness.wait_until(lambda: os.path.exists(pidfile) and
                       open(pidfile).read().strip(), timeout=10)
    try:
        jpid[0] = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        pass
    ready = ns.wait(has("READY=1"), timeout=20)
    if ready is None:
        proc.kill()
        out = proc.communicate(timeout=5)[0].decode("utf-8", "replace")
        t.ok(False, "daemon under a private journald: READY=1", out)
        return
    t.ok(True, "daemon under a private journald: READY=1")
    url = "http://127.0.0.1:%d/xmlrpc" % port
    src, tg = fresh("journal")
    r = ping_url(url, src, tg)
    t.ok(r.ok, "pingback accepted", "got %r" % (r,))
    dead = "http://%s:%d/gone" % (harness.ORIGIN_HOST,
                                  harness.free_port(harness.ORIGIN_HOST))
    tg16 = BLOG + "post-journal-16"
    r16 = ping_url(url, dead, tg16)
    t.ok(r16.fault == 16, "pingback from a dead source: fault 16",
         "got %r" % (r16,))
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "killed"
    t.ok(rc == 0, "exit status 0 after SIGTERM", "exit status %r" % (rc,))
    if not jpid[0]:
        t.ok(False, "journald pid known")
        return

    def entries(*m, wait=5):
        return harness.wait_until(lambda: journal_query(jpid[0], *m),
                                  timeout=wait) or []
    # journalctl -u needs a unit; here the identifier stands in for it.
    acc = [e for e in entries("SYSLOG_IDENTIFIER=pingbackd",
                              "PINGBACKD_EVENT=pingback.accepted")]
    e = acc[0] if acc else {}
    t.ok(len(acc) == 1, "one pingback.accepted entry",
         "%d entries" % len(acc))
    t.eq(e.get("SOURCE_URL"), src, "SOURCE_URL= is the source")
    t.eq(e.get("TARGET_URL"), tg, "TARGET_URL= is the target")
    t.ok(re.match(r"^[0-9a-f]{6,}$", e.get("PINGBACK_ID", "")),
         "PINGBACK_ID= is the request id", "%r" % e.get("PINGBACK_ID"))
    t.eq(e.get("PRIORITY"), "6", "PRIORITY=6 (info) for an accepted pingback")
    msg = e.get("MESSAGE", "")
    t.ok(msg.startswith("level=info event=pingback.accepted id=") and
         "ts=" not in msg and not msg.startswith("<"),
         "MESSAGE= is the logfmt line, without <N> and ts=", msg)
    t.ok("_PID" in e and e.get("_TRANSPORT") == "journal",
         "sent over the native protocol (_TRANSPORT=journal)",
         "_TRANSPORT=%r" % e.get("_TRANSPORT"))
    by_target = entries("TARGET_URL=" + tg)
    t.ok(by_target and all(x.get("TARGET_URL") == tg for x in by_target),
         "journalctl TARGET_URL=... finds the post's lines",
         "%d entries" % len(by_target))
    by_id = entries("PINGBACK_ID=" + e.get("PINGBACK_ID", "-"))
    t.ok(by_id and all(x.get("PINGBACK_ID") == e.get("PINGBACK_ID")
                       for x in by_id),
         "journalctl PINGBACK_ID=... finds the pingback's lines",
         "%d entries" % len(by_id))
    f16 = entries("FAULT_CODE=16")
    t.ok(len(f16) == 1 and f16[0].get("TARGET_URL") == tg16 and
         f16[0].get("SOURCE_URL") == dead and
         f16[0].get("PINGBACKD_EVENT") == "pingback.rejected" and
         f16[0].get("PRIORITY") == "6",
         "journalctl FAULT_CODE=16 finds the rejection (at info)",
         "%r" % f16)
    rdy = entries("PINGBACKD_EVENT=ready")
    t.ok(len(rdy) == 1 and rdy[0].get("PRIORITY") == "5" and
         rdy[0].get("SYSLOG_IDENTIFIER") == "pingbackd",
         "event=ready: PRIORITY=5, SYSLOG_IDENTIFIER=pingbackd", "%r" % rdy)
    stream = entries("SYSLOG_IDENTIFIER=pingbackd-stderr", wait=0)
    t.ok(not [x for x in stream if "event=" in x.get("MESSAGE", "")],
         "nothing logged twice through the stderr stream",
         *[x.get("MESSAGE") for x in stream[:10]])
    try:
        os.kill(jpid[0], signal.SIGTERM)
    except OSError:
        pass


t.run(test_notify)
t.run(test_watchdog_other_pid)
t.run(test_activation)
t.run(test_activation_covered)
t.run(test_no_listener)
t.run(test_passed_not_socket)
t.run(test_journal_prefix)
t.run(test_journald)
origin.close()
sys.exit(t.done())
