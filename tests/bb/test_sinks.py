#!/usr/bin/env python3
"""Sinks: the outbox delivers every stored mention to each configured
sink (doc/SINKS.md).

A webhook end to end (the documented JSON document byte for byte, the
HMAC signature, X-Pingbackd-Id, the deliveries row); the exec sink end
to end (stdin, PINGBACKD_ID, a bare environment), a program that fails
(retries with backoff, the state stays pending) and one that never ends
(killed at the timeout with its process group, no zombie); a webhook
and an exec sink at once; a sink that is down, then answers 503, then
comes back (everything arrives, once per key, no pingback faulted); a
mention older than max_age (written into the store by hand) whose
delivery fails once and is marked failed; and a sink added and one
removed by SIGHUP."""

import hashlib
import hmac
import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG, ORIGIN_HOST  # noqa: E402
from origin import link_page, Origin, Receiver  # noqa: E402

harness.require_daemon()
t = harness.TAP("test_sinks", watchdog=110)
tmp = harness.mktmp("sinks")
origin = Origin(ORIGIN_HOST)
SINKBIN = os.path.join(harness.BBDATA, "sink")
seq = [0]

# doc/SINKS.md, "The JSON document": the members, in this order.
MEMBERS = ["id", "idempotency_key", "kind", "source", "target", "title",
           "excerpt", "status", "client_ip", "received_at"]


def sub(name):
    p = os.path.join(tmp, name)
    os.makedirs(p, exist_ok=True)
    return p


def fresh(tag, title="A page"):
    """A new target and a source page linking to it."""
    seq[0] += 1
    tg = BLOG + "post-%s-%d" % (tag, seq[0])
    src = origin.page("/src/%s-%d" % (tag, seq[0]), link_page(tg, title))
    return src, tg


def webhook(url, **kw):
    d = {"type": "webhook", "url": url}
    d.update({k: str(v) for k, v in kw.items()})
    return d


def execsink(prog, *args, **kw):
    d = {"type": "exec",
         "command": " ".join([os.path.join(SINKBIN, prog)] + list(args))}
    d.update({k: str(v) for k, v in kw.items()})
    return d


def sinks_conf(dd, sinks, **sections):
    conf = harness.base_config(dd, **sections)
    for name, sc in sinks.items():
        conf["sink." + name] = sc
    return conf


# ------------------------------------------------- the documented encoding

def _utf8_len(b, i):
    c = b[i]
    n = 2 if 0xc2 <= c <= 0xdf else 3 if 0xe0 <= c <= 0xef else \
        4 if 0xf0 <= c <= 0xf4 else 0
    if n == 0:
        return 0
    try:
        b[i:i + n].decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return n


def json_string(b):
    """A JSON string as doc/SINKS.md says pingbackd writes it."""
    if isinstance(b, str):
        b = b.encode("utf-8")
    out, i = bytearray(b'"'), 0
    while i < len(b):
        c = b[i]
        if c in (0x22, 0x5c):
            out += b"\\" + bytes([c])
            i += 1
        elif c < 0x20 or c == 0x7f:
            out += b"\\u%04x" % c
            i += 1
        elif c < 0x80:
            out.append(c)
            i += 1
        else:
            n = _utf8_len(b, i)
            if n == 0:
                out += b"\\ufffd"
                i += 1
            else:
                out += b[i:i + n]
                i += n
    return bytes(out + b'"')


def raw_mention(path, mid):
    """The mention row with id mid, columns as stored (bytes for text)."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    db.text_factory = bytes
    try:
        cur = db.execute("SELECT * FROM mentions WHERE id = ?", (mid,))
        names = [c[0] for c in cur.description]
        row = cur.fetchone()
        return dict(zip(names, row)) if row else None
    finally:
        db.close()


def expected_doc(path, mid):
    """The document pingbackd should send for mention mid, from the
    store, byte for byte."""
    m = raw_mention(path, mid)
    if m is None:
        return None
    key = harness.idempotency_key(m["source_norm"].decode("utf-8"),
                                  m["target_norm"].decode("utf-8"))
    parts = [b'{"id":%d' % m["id"]]
    vals = dict(m, idempotency_key=key.encode())
    for k in MEMBERS[1:]:
        v = vals[k]
        parts.append(b'"%s":%s' % (k.encode(), json_string(v)))
    return b",".join(parts) + b"}"


def parse_doc(body):
    """(members in order, dict) of a JSON document; ([], {}) if bad."""
    try:
        pairs = json.loads(body.decode("utf-8"), object_pairs_hook=list)
    except ValueError:
        return [], {}
    if not isinstance(pairs, list):
        return [], {}
    return [k for k, _ in pairs], dict(pairs)


def mention(d, tg):
    rows = d.rows("target = ?", (tg,))
    return rows[0] if len(rows) == 1 else None


def key_of(row):
    return harness.idempotency_key(row["source_norm"], row["target_norm"])


def read_records(path):
    """Lines written by the exec helper 'record':
    [(PINGBACKD_ID, document bytes, env names, PATH)]."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    out = []
    for line in data.split(b"\n"):
        if not line:
            continue
        f = line.split(b"\t")
        if len(f) != 4:
            out.append((None, line, [], None))
            continue
        out.append((f[0].decode(), f[1], f[2].decode().split(),
                    f[3].decode()))
    return out


def read_lines(path):
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.strip()]
    except OSError:
        return []


def gone(pid, daemon_pid):
    """The process is gone, or a zombie some other process must reap."""
    st = harness.proc_state(pid)
    if st is None:
        return True
    state, ppid = st.split()
    return state in ("Z", "X") and int(ppid) != daemon_pid


def backoff_bounds(base, rmax, n):
    """doc/SINKS.md, "Retries": after failed attempt n, the wait is
    min(retry_max, retry_base * 2^(n-1)) * [0.5, 1.0], rounded, >= 1."""
    w = min(rmax, base * 2 ** (n - 1))
    return max(1, int(0.5 * w + 0.5)), max(1, int(w + 0.5))


# ------------------------------------------------------------------ cases

def test_webhook():
    dd = sub("webhook")
    rc = Receiver(ORIGIN_HOST)
    plain = Receiver(ORIGIN_HOST)
    secret = "s3cret-for-the-webhook-test"
    d = harness.Daemon(dd, sinks_conf(dd, {
        "blog": webhook(rc.hook, secret=secret, retry_base=1),
        "plain": webhook(plain.hook, retry_base=1)}), name="webhook")
    d.start()
    src, tg = fresh("wh", title='Caf\u00e9 "quoted" back\\slash \u2713')
    r = d.ping(src, tg)
    t.ok(r.ok, "webhook: pingback accepted", "got %r" % (r,))
    m = mention(d, tg)
    t.ok(m is not None, "webhook: the mention is stored")
    if m is None:
        t.check_daemon(d)
        return
    done = harness.wait_until(lambda: len(d.deliveries(
        "mention_id = ? AND state = 'delivered'", (m["id"],))) == 2, 10)
    t.ok(done, "webhook: both deliveries become delivered within 10 s",
         "rows %r" % d.deliveries())
    time.sleep(1.5)     # a second delivery would come within the tick
    posts = rc.received()
    t.eq(len(posts), 1, "webhook: exactly one POST for one pingback")
    if not posts:
        d.dump_log(t)
        t.check_daemon(d)
        return
    p = posts[0]
    body, hdrs = p["body"], p["headers"]
    t.eq(p["method"], "POST", "webhook: the request is a POST")
    names, doc = parse_doc(body)
    t.eq(names, MEMBERS, "webhook: the JSON has the documented members, "
         "in the documented order")
    want = {"id": m["id"], "idempotency_key": key_of(m), "kind": "pingback",
            "source": m["source"], "target": m["target"],
            "title": m["title"], "excerpt": m["excerpt"],
            "status": m["status"], "client_ip": m["client_ip"],
            "received_at": m["received_at"]}
    for k in MEMBERS:
        t.eq(doc.get(k), want[k], "webhook: member %s is the stored value"
             % k)
    t.eq(m["source"], src, "webhook: (the stored source is the one sent)")
    t.ok(harness.RFC3339_UTC.match(doc.get("received_at", "")),
         "webhook: received_at is RFC 3339 UTC", doc.get("received_at"))
    t.eq(body, expected_doc(d.store_path, m["id"]), "webhook: the body is "
         "the documented encoding byte for byte (one line, no white "
         "space, no trailing newline, escapes as documented)")
    t.ok(hdrs.get("content-type", "").startswith("application/json"),
         "webhook: Content-Type application/json", "%r" % hdrs)
    t.eq(hdrs.get("x-pingbackd-id"), doc.get("idempotency_key"),
         "webhook: X-Pingbackd-Id is the idempotency_key")
    t.ok(hdrs.get("user-agent", "").startswith("pingbackd/"),
         "webhook: User-Agent pingbackd/VERSION", hdrs.get("user-agent"))
    sig = hdrs.get("x-pingbackd-signature", "")
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    t.ok(sig.startswith("sha256=") and
         hmac.compare_digest(sig[len("sha256="):], mac),
         "webhook: X-Pingbackd-Signature is sha256=HMAC-SHA256(secret, "
         "body), lower-case hex", "got %r" % sig, "want sha256=%s" % mac)
    pp = plain.received()
    t.ok(len(pp) == 1 and "x-pingbackd-signature" not in pp[0]["headers"],
         "webhook without secret: the request is not signed",
         "%r" % [x["headers"] for x in pp])
    t.ok(len(pp) == 1 and pp[0]["body"] == body, "the document is the same "
         "byte for byte for every sink")
    rows = {x["sink"]: x for x in d.deliveries("mention_id = ?", (m["id"],))}
    row = rows.get("blog") or {}
    t.ok(row.get("state") == "delivered" and row.get("attempts") == 1 and
         row.get("last_error") is None and
         harness.RFC3339_UTC.match(row.get("delivered_at") or ""),
         "webhook: deliveries row delivered, attempts 1, delivered_at set",
         "%r" % rows)
    line = d.find("sink.delivered", sink="blog", id=m["id"])
    t.ok(len(line) == 1 and line[0].get("attempts") == "1" and
         line[0].get("level") == "info",
         "webhook: one event=sink.delivered sink=blog id=ID attempts=1",
         *[l.raw for l in d.find("sink.delivered")])
    t.ok(not [l for l in d.lines if secret in l.raw],
         "webhook: the secret never appears in the log")
    t.check_daemon(d)


def test_exec():
    dd = sub("exec")
    recf = os.path.join(dd, "rec.txt")
    failf = os.path.join(dd, "fail.txt")
    base, rmax = 1, 3
    d = harness.Daemon(dd, sinks_conf(dd, {
        "rec": execsink("record", recf),
        "bad": execsink("fail", failf, retry_base=base, retry_max=rmax)}),
        name="exec", env={"PBD_TEST_MARKER": "must-not-leak"})
    d.start()
    src, tg = fresh("exec", title="Tab\there and a \u00fcmlaut")
    r = d.ping(src, tg)
    t.ok(r.ok, "exec: pingback accepted", "got %r" % (r,))
    m = mention(d, tg)
    if not t.ok(m is not None, "exec: the mention is stored"):
        t.check_daemon(d)
        return
    key = key_of(m)
    ok = harness.wait_until(lambda: d.deliveries(
        "mention_id = ? AND sink = 'rec' AND state = 'delivered'",
        (m["id"],)), 10)
    t.ok(ok, "exec: the delivery to the program becomes delivered",
         "rows %r" % d.deliveries())
    recs = read_records(recf)
    t.eq(len(recs), 1, "exec: the program ran once")
    if recs:
        k, doc, names, path = recs[0]
        t.eq(doc, expected_doc(d.store_path, m["id"]), "exec: stdin is the "
             "documented JSON document, byte for byte")
        t.eq(k, key, "exec: PINGBACKD_ID in its environment is the "
             "idempotency key")
        t.eq(parse_doc(doc)[1].get("idempotency_key"), key,
             "exec: ... and the document's idempotency_key")
        t.ok("PBD_TEST_MARKER" not in names and "PINGBACKD_ID" in names,
             "exec: the daemon's environment does not leak to the program",
             "names %r" % names)
        t.eq(path, "/usr/bin:/bin", "exec: PATH=/usr/bin:/bin")
    # the failing program: retried with backoff, stays pending
    third = d.wait_log("sink.retry", sink="bad", id=m["id"], attempts=3,
                       timeout=20)
    retries = d.find("sink.retry", sink="bad", id=m["id"])
    t.ok(third is not None, "exec exit 1: event=sink.retry for attempts "
         "1, 2, 3 (attempts grow)", *[l.raw for l in retries])
    att = [int(l.get("attempts", 0)) for l in retries]
    t.eq(att[:3], [1, 2, 3], "exec exit 1: attempts are counted 1, 2, 3")
    bad = []
    for i, l in enumerate(retries):
        n, wait = int(l.get("attempts", 0)), int(l.get("retry_in", -1))
        lo, hi = backoff_bounds(base, rmax, n)
        if not lo <= wait <= hi:
            bad.append("attempt %d: retry_in=%d not in [%d, %d]"
                       % (n, wait, lo, hi))
        if i + 1 < len(retries):
            gap = retries[i + 1].time - l.time
            # time() has whole seconds and the scheduler ticks each
            # second: the next attempt comes in [wait - 1, wait + 2.5]
            if not wait - 1 <= gap <= wait + 2.5:
                bad.append("attempt %d -> %d after %.2f s, retry_in=%d"
                           % (n, n + 1, gap, wait))
    t.ok(retries and not bad, "exec exit 1: the waits follow "
         "min(retry_max, retry_base*2^(n-1)) * [0.5, 1] (retry_base=1, "
         "retry_max=3)", *(bad + [l.raw for l in retries]))
    t.ok(all(l.get("level") == "warning" and
             "exit 1" in l.get("error", "") for l in retries),
         "exec exit 1: sink.retry at level=warning with error=\"exit 1 ...\"",
         *[l.raw for l in retries])
    # the outcome is logged first, then committed: wait for the row
    rows = harness.wait_until(lambda: [x for x in d.deliveries(
        "mention_id = ? AND sink = 'bad'", (m["id"],))
        if x["attempts"] >= 3], 5) or \
        d.deliveries("mention_id = ? AND sink = 'bad'", (m["id"],))
    row = rows[0] if rows else {}
    t.ok(row.get("state") == "pending" and row.get("attempts", 0) >= 3 and
         row.get("delivered_at") is None,
         "exec exit 1: the deliveries row stays pending with attempts >= 3",
         "%r" % rows)
    t.ok("exit 1" in (row.get("last_error") or "") and
         "refused by the test sink" in (row.get("last_error") or ""),
         "exec exit 1: last_error has the status and the program's stderr",
         "%r" % row.get("last_error"))
    t.ok(row.get("next_attempt", 0) >= int(time.time()) - 1,
         "exec exit 1: next_attempt is not in the past", "%r" % row)
    runs = read_lines(failf)
    t.ok(len(runs) >= 3 and set(runs) == {key}, "exec exit 1: each attempt "
         "ran the program with the same PINGBACKD_ID", "%r" % runs)
    t.ok(not d.find("sink.failed"), "exec exit 1: not marked failed "
         "(max_age not reached)")
    t.check_daemon(d)


def test_exec_timeout():
    dd = sub("timeout")
    pidf = os.path.join(dd, "pids.txt")
    d = harness.Daemon(dd, sinks_conf(dd, {
        "slow": execsink("sleepy", pidf, timeout=1, retry_base=5)}),
        name="timeout")
    d.start()
    src, tg = fresh("timeout")
    t0 = time.monotonic()
    r = d.ping(src, tg)
    t.ok(r.ok, "exec timeout: pingback accepted at once (the daemon never "
         "waits for the program)", "got %r" % (r,))
    t.ok(r.elapsed < 1.0, "exec timeout: answered in %.2f s" % r.elapsed)
    line = d.wait_log("sink.retry", sink="slow", timeout=10)
    took = (line.time - t0) if line else None
    t.ok(line is not None and line.get("error") == "timeout",
         "exec timeout: event=sink.retry error=timeout",
         line.raw if line else "no sink.retry")
    t.ok(took is not None and 0.9 <= took <= 4,
         "exec timeout: killed after timeout=1 s (took %s)" % (
             "%.2f s" % took if took is not None else "-"))
    kids = d.children()
    t.eq(kids, [], "exec timeout: no child of the daemon left after the "
         "timeout, no zombie")
    pids = [int(x) for x in read_lines(pidf)]
    t.ok(len(pids) == 2 and all(gone(p, d.proc.pid) for p in pids),
         "exec timeout: the program and its own child (its process group) "
         "are killed", "%r" % [(p, harness.proc_state(p)) for p in pids])
    # logged first, committed right after
    rows = harness.wait_until(lambda: [x for x in d.deliveries()
                                       if x["attempts"] >= 1], 5) or \
        d.deliveries()
    t.ok(rows and rows[0]["state"] == "pending" and
         rows[0]["last_error"] == "timeout",
         "exec timeout: the delivery stays pending, last_error timeout",
         "%r" % rows)
    # the next attempt (after ~3-5 s) is running when we stop the daemon
    again = harness.wait_until(lambda: len(read_lines(pidf)) >= 4, 10)
    t.ok(again, "exec timeout: attempted again after the backoff")
    t.check_daemon(d)
    pids = [int(x) for x in read_lines(pidf)]
    t.ok(all(gone(p, -1) for p in pids), "exec timeout: SIGTERM while the "
         "program runs: nothing of it is left after the exit",
         "%r" % [(p, harness.proc_state(p)) for p in pids])


def test_two_sinks():
    dd = sub("two")
    rc = Receiver(ORIGIN_HOST)
    recf = os.path.join(dd, "rec.txt")
    d = harness.Daemon(dd, sinks_conf(dd, {
        "hook": webhook(rc.hook, retry_base=1),
        "prog": execsink("record", recf, retry_base=1)}), name="two")
    d.start()
    tgs = []
    for i in range(5):
        src, tg = fresh("two")
        r = d.ping(src, tg)
        t.ok(r.ok, "two sinks: pingback %d accepted" % i, "got %r" % (r,))
        tgs.append(tg)
    ms = [mention(d, tg) for tg in tgs]
    keys = {key_of(m) for m in ms if m}
    done = harness.wait_until(lambda: len(d.deliveries(
        "state = 'delivered'")) == 10, 15)
    t.ok(done, "two sinks: 5 mentions x 2 sinks = 10 deliveries delivered",
         "%r" % d.deliveries())
    time.sleep(1.2)
    hook = rc.by_key()
    recs = read_records(recf)
    prog = {}
    for k, doc, _, _ in recs:
        prog.setdefault(k, []).append(doc)
    t.eq(set(hook), keys, "two sinks: the webhook got every mention")
    t.eq(set(prog), keys, "two sinks: the program got every mention")
    t.ok(all(len(v) == 1 for v in hook.values()) and
         all(len(v) == 1 for v in prog.values()),
         "two sinks: each mention once to each sink",
         "webhook %r" % {k: len(v) for k, v in hook.items()},
         "exec %r" % {k: len(v) for k, v in prog.items()})
    t.ok(all(hook.get(k) == prog.get(k) for k in keys),
         "two sinks: both got the same document, byte for byte")
    rows = d.deliveries()
    t.eq(sorted((r["mention_id"], r["sink"]) for r in rows),
         sorted((m["id"], s) for m in ms if m for s in ("hook", "prog")),
         "two sinks: one deliveries row per mention and sink")
    t.check_daemon(d)


def test_outage():
    dd = sub("outage")
    port = harness.free_port(ORIGIN_HOST)
    url = "http://%s:%d/hook" % (ORIGIN_HOST, port)
    d = harness.Daemon(dd, sinks_conf(dd, {
        "blog": webhook(url, retry_base=1, retry_max=2, timeout=5)}),
        name="outage")
    d.start()
    results, tgs = [], []

    def send(n, tag):
        for _ in range(n):
            src, tg = fresh(tag)
            results.append(d.ping(src, tg))
            tgs.append(tg)

    # 1: nothing listens on the webhook's port
    send(10, "down")
    refused = d.wait_log("sink.retry", sink="blog", timeout=10)
    t.ok(refused is not None, "outage: sink down: event=sink.retry logged",
         refused.raw if refused else "")
    # 2: it answers 503
    rc = Receiver(ORIGIN_HOST, port=port, status=503)
    mark = d.mark()
    send(10, "503")
    got503 = d.wait_log("sink.retry", sink="blog", error="http 503",
                        since=mark, timeout=10)
    t.ok(got503 is not None, "outage: sink answers 503: event=sink.retry "
         "error=\"http 503\"", *[l.raw for l in d.find("sink.retry",
                                                        since=mark)][-5:])
    # ... until every pending delivery has been answered 503 once
    every503 = harness.wait_until(lambda: len({
        r["headers"].get("x-pingbackd-id") for r in rc.received()
        if r["answered"] and r["status"] == 503}) >= 20, 15)
    t.ok(every503, "outage: every pending delivery is retried against the "
         "503 (retry_max=2)")
    faults = [r for r in results if not r.ok]
    t.ok(len(results) == 20 and not faults, "outage: all 20 pingbacks "
         "acknowledged while the sink is down (none faulted because of it)",
         "%r" % faults)
    t.ok(not rc.delivered(), "outage: nothing counted delivered while 503")
    ms = [mention(d, tg) for tg in tgs]
    t.ok(all(ms), "outage: all 20 stored")
    keys = {key_of(m) for m in ms if m}
    pend = d.deliveries("state = 'pending'")
    t.eq(len(pend), 20, "outage: 20 deliveries pending during the outage")
    # 3: back
    rc.status = 200
    back = time.monotonic()
    ok = harness.wait_until(lambda: set(rc.by_key()) >= keys, 20)
    t.ok(ok, "outage: within 20 s of the sink's return every acknowledged "
         "pingback has arrived (took %.1f s)" % (time.monotonic() - back),
         "missing %d" % len(keys - set(rc.by_key())))
    harness.wait_until(lambda: len(d.deliveries("state = 'delivered'"))
                       == 20, 10)
    time.sleep(1.5)
    got = rc.by_key()
    dups = {k: len(v) for k, v in got.items() if len(v) > 1}
    t.eq(set(got), keys, "outage: exactly the acknowledged keys arrived")
    if dups:
        t.diag("duplicate deliveries (allowed: at least once): %r" % dups)
    t.ok(all(len(set(v)) == 1 for v in got.values()), "outage: a key "
         "delivered twice carries the same body")
    t.ok(not dups, "outage: each key delivered once (no duplicates after "
         "the sink's return)", "%r" % dups)
    allb = rc.by_key(ok_only=False)
    t.ok(all(len(set(v)) == 1 for v in allb.values()), "outage: every "
         "attempt of a mention (503s included) sent the same body")
    rows = d.deliveries()
    t.ok(len(rows) == 20 and all(r["state"] == "delivered" for r in rows),
         "outage: all 20 deliveries rows end delivered",
         "%r" % [(r["mention_id"], r["state"]) for r in rows
                 if r["state"] != "delivered"])
    early = [r for r in rows if r["mention_id"] in
             {m["id"] for m in ms[:10] if m}]
    t.ok(all(r["attempts"] >= 3 for r in early), "outage: those sent while "
         "it was down took >= 3 attempts (refused, 503, delivered)",
         "%r" % [r["attempts"] for r in early])
    errs = {l.get("error") for l in d.find("sink.retry", sink="blog")}
    t.diag("sink.retry errors seen: %r" % sorted(e or "" for e in errs))
    t.ok(not d.find("sink.failed"), "outage: nothing marked failed")
    t.check_daemon(d)


def test_max_age():
    dd = sub("maxage")
    # the daemon creates the schema; then it is stopped
    d0 = harness.Daemon(dd, harness.base_config(dd), name="maxage0")
    d0.start()
    t.check_daemon(d0)
    path = d0.store_path
    uv = harness.store_sql(path, "PRAGMA user_version")
    t.eq(uv and uv[0].get("user_version"), 2, "max_age: store schema "
         "user_version is 2")
    recv = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() - 2 * 86400))
    src = "http://old.example/a-post"
    tg = BLOG + "old-post"
    # strings that exercise every escaping rule of doc/SINKS.md
    title = 'Old "post" \\ nl\n tab\t del\x7f nul-free caf\u00e9 \u2713 /'
    excerpt = b"bad \xff byte, \xc3( cut, \xed\xa0\x80 surrogate, ok \xc3\xa9"
    db = sqlite3.connect(path, timeout=5)
    try:
        cur = db.execute(
            "INSERT INTO mentions (kind, source, target, source_norm,"
            " target_norm, title, excerpt, status, client_ip, received_at)"
            " VALUES ('pingback', ?, ?, ?, ?, ?, CAST(? AS TEXT),"
            " 'approved', '203.0.113.9', ?)",
            (src, tg, src, tg, title, excerpt, recv))
        mid = cur.lastrowid
        db.execute("INSERT INTO deliveries (mention_id, sink, state,"
                   " attempts, next_attempt) VALUES (?, 'old', 'pending',"
                   " 0, 0)", (mid,))
        db.commit()
    finally:
        db.close()
    rc = Receiver(ORIGIN_HOST, status=500)
    d = harness.Daemon(dd, sinks_conf(dd, {
        "old": webhook(rc.hook, max_age=60, retry_base=1, retry_max=2)}),
        name="maxage")
    d.start()
    line = d.wait_log("sink.failed", sink="old", timeout=10)
    t.ok(line is not None and line.get("level") == "warning",
         "max_age: a mention received two days ago, max_age=60: "
         "event=sink.failed at level=warning",
         line.raw if line else "no sink.failed")
    t.ok(line is not None and line.get("id") == str(mid) and
         line.get("attempts") == "1" and "500" in line.get("error", ""),
         "max_age: sink.failed names the mention, attempts=1 and the last "
         "error (http 500)", line.raw if line else "")
    harness.wait_until(lambda: d.deliveries("state = 'failed'"), 5)
    rows = d.deliveries("mention_id = ?", (mid,))
    row = rows[0] if rows else {}
    t.ok(row.get("state") == "failed" and row.get("attempts") == 1 and
         "500" in (row.get("last_error") or "") and
         row.get("delivered_at") is None,
         "max_age: the deliveries row is failed, attempts 1, last_error set",
         "%r" % rows)
    time.sleep(2.5)
    posts = rc.received()
    t.eq(len(posts), 1, "max_age: the first attempt is made however old the "
         "mention, and no other after the failure")
    if posts:
        want = expected_doc(path, mid)
        t.eq(posts[0]["body"], want, "max_age: the hand-written row's "
             "document follows the escaping rules (quote, backslash, "
             "control characters as \\u00XX, bad UTF-8 as \\ufffd)")
        t.ok(parse_doc(posts[0]["body"])[1].get("received_at") == recv,
             "max_age: received_at is the stored one")
    t.ok(not d.find("sink.retry", sink="old", id=mid),
         "max_age: no sink.retry for the old mention")
    # a young mention to the same failing sink is retried, not failed
    src2, tg2 = fresh("maxage")
    r = d.ping(src2, tg2)
    m2 = mention(d, tg2)
    young = d.wait_log("sink.retry", sink="old",
                       id=m2["id"] if m2 else -1, timeout=10)
    rows2 = d.deliveries("mention_id = ?", (m2["id"] if m2 else -1,))
    t.ok(r.ok and young is not None and rows2 and
         rows2[0]["state"] == "pending",
         "max_age: a fresh mention on the same failing sink is retried and "
         "stays pending", "got %r rows %r" % (r, rows2))
    t.check_daemon(d)


def test_sighup_add():
    dd = sub("hupadd")
    ra, rb = Receiver(ORIGIN_HOST), Receiver(ORIGIN_HOST)
    conf = sinks_conf(dd, {"a": webhook(ra.hook, retry_base=1)})
    d = harness.Daemon(dd, conf, name="hupadd")
    d.start()

    def one(tag):
        src, tg = fresh(tag)
        r = d.ping(src, tg)
        return r, mention(d, tg)

    r1, m1 = one("hup1")
    t.ok(r1.ok and m1, "SIGHUP: pingback before the reload stored")
    k1 = key_of(m1) if m1 else None
    harness.wait_until(lambda: k1 in ra.by_key(), 10)
    conf["sink.b"] = webhook(rb.hook, retry_base=1)
    harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("config.reloaded", since=mark, timeout=10),
         "SIGHUP adding [sink.b]: config.reloaded")
    r2, m2 = one("hup2")
    k2 = key_of(m2) if m2 else None
    ok = harness.wait_until(lambda: k2 in ra.by_key() and k2 in rb.by_key(),
                            10)
    t.ok(r2.ok and ok, "SIGHUP: a mention stored after the reload goes to "
         "the old and to the new sink")
    time.sleep(1.5)
    t.ok(k1 not in rb.by_key(ok_only=False), "SIGHUP: the new sink does not "
         "get the mention stored before it was added (documented: only "
         "mentions stored from then on)")
    rows = d.deliveries()
    t.eq(sorted((r["mention_id"], r["sink"]) for r in rows),
         sorted([(m1["id"], "a"), (m2["id"], "a"), (m2["id"], "b")]),
         "SIGHUP: the older mention has no deliveries row for the new sink")
    t.diag("rule observed: a sink added by SIGHUP gets a deliveries row for "
           "mentions stored after the reload only; older mentions are "
           "never delivered to it")
    # remove a: its rows stay; new mentions get no row for it
    del conf["sink.a"]
    harness.write_config(d.conf_path, conf)
    mark = d.mark()
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("config.reloaded", since=mark, timeout=10),
         "SIGHUP removing [sink.a]: config.reloaded")
    n_a = len(ra.received())
    r3, m3 = one("hup3")
    k3 = key_of(m3) if m3 else None
    ok = harness.wait_until(lambda: k3 in rb.by_key(), 10)
    time.sleep(1.2)
    t.ok(r3.ok and ok and len(ra.received()) == n_a,
         "SIGHUP: after removing a sink, new mentions go only to the rest")
    rows = d.deliveries()
    t.eq(sorted((r["mention_id"], r["sink"], r["state"]) for r in rows),
         sorted([(m1["id"], "a", "delivered"), (m2["id"], "a", "delivered"),
                 (m2["id"], "b", "delivered"), (m3["id"], "b", "delivered")]),
         "SIGHUP: the removed sink's rows are left as they were")
    t.check_daemon(d)


t.run(test_webhook)
t.run(test_exec)
t.run(test_exec_timeout)
t.run(test_two_sinks)
t.run(test_outage)
t.run(test_max_age)
t.run(test_sighup_add)
sys.exit(t.done())
