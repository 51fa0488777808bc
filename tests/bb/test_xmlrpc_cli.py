#!/usr/bin/env python3
"""Interoperability with xmlrpc-c's own client, the `xmlrpc` command:
pingback.ping success and faults, getPingbacks and system.listMethods,
as that client sends and prints them."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, nolink_page, Origin  # noqa: E402

harness.require_daemon()
CLI = harness.XMLRPC_CLI
if not CLI or not os.access(CLI, os.X_OK):
    harness.skip_all("xmlrpc command (xmlrpc-api-utils) not found")

t = harness.TAP("test_xmlrpc_cli")
tmp = harness.mktmp("cli")
origin = Origin(harness.ORIGIN_HOST)
d = harness.Daemon(tmp, harness.base_config(tmp), name="cli")
t.start(d)
FAULT_RE = re.compile(r"\(XML-RPC fault code (-?\d+)\)")


def cli(method, *params):
    """Run `xmlrpc URL method params...`; return (rc, stdout, stderr)."""
    env = harness.clean_env({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    try:
        p = subprocess.run([CLI, d.url(), method] + list(params),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30, env=env)
    except subprocess.TimeoutExpired:
        return None, "", "timeout"
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def fault_code(out, err):
    m = FAULT_RE.search(out + err)
    return int(m.group(1)) if m else None


def test_ping_success():
    tg = BLOG + "post-cli"
    src = origin.page("/src/cli.html", link_page(tg))
    rc, out, err = cli("pingback.ping", "s/" + src, "s/" + tg)
    t.ok(rc == 0 and "String: '" in out and "registered" in out,
         "xmlrpc pingback.ping: exit 0, prints the success string",
         "rc %r" % rc, "stdout %r" % out, "stderr %r" % err)
    rows = d.rows("target = ?", (tg,))
    t.ok(len(rows) == 1 and rows[0]["source"] == src,
         "the CLI's pingback is stored", "rows %r" % rows)
    rc, out, err = cli("pingback.ping", "s/" + src, "s/" + tg)
    t.ok(rc != 0 and fault_code(out, err) == 48,
         "xmlrpc pingback.ping again: fault code 48",
         "rc %r stdout %r stderr %r" % (rc, out, err))
    return src, tg


def test_faults():
    src = origin.page("/src/cli-nolink.html", nolink_page())
    rc, out, err = cli("pingback.ping", "s/" + src, "s/" + BLOG + "post-x")
    t.ok(rc != 0 and fault_code(out, err) == 17,
         "xmlrpc: no link -> '(XML-RPC fault code 17)', non-zero exit",
         "rc %r stdout %r stderr %r" % (rc, out, err))
    t.ok("RPC failed at server" in err and
         re.search(r"server\.\s+\S.*\(XML-RPC fault code 17\)", err),
         "the fault carries a faultString", "stderr %r" % err)
    rc, out, err = cli("pingback.ping", "s/" + src,
                       "s/http://elsewhere.example/p")
    t.eq(fault_code(out, err), 33, "xmlrpc: foreign target -> fault code 33")
    rc, out, err = cli("pingback.ping", "s/" + origin.url("/missing"),
                       "s/" + BLOG + "post-y")
    t.eq(fault_code(out, err), 16, "xmlrpc: 404 source -> fault code 16")
    rc, out, err = cli("pingback.ping", "i/5", "s/" + BLOG + "post-y")
    t.eq(fault_code(out, err), 0, "xmlrpc: integer source -> fault code 0")
    rc, out, err = cli("pingback.ping", "s/" + src)
    t.eq(fault_code(out, err), 0, "xmlrpc: one parameter -> fault code 0")
    rc, out, err = cli("no.such.method")
    t.eq(fault_code(out, err), 0, "xmlrpc: unknown method -> fault code 0")
    rc, out, err = cli("pingback.ping", "n/", "n/")
    t.ok(fault_code(out, err) is not None and fault_code(out, err) >= 0,
         "xmlrpc: nil parameters -> a server fault",
         "stdout %r stderr %r" % (out, err))


def test_list_methods():
    rc, out, err = cli("system.listMethods")
    names = set(re.findall(r"String: '([^']*)'", out))
    want = {"pingback.ping", "pingback.extensions.getPingbacks",
            "system.listMethods"}
    t.ok(rc == 0 and "Array of" in out and want <= names,
         "xmlrpc system.listMethods: an array with the three methods",
         "rc %r stdout %r stderr %r" % (rc, out, err))


def test_get_pingbacks(src, tg):
    rc, out, err = cli("pingback.extensions.getPingbacks", "s/" + tg)
    t.ok(rc == 0 and "Array of 1 items" in out and "'%s'" % src in out,
         "xmlrpc getPingbacks: an array with the source",
         "rc %r stdout %r stderr %r" % (rc, out, err))
    rc, out, err = cli("pingback.extensions.getPingbacks",
                       "s/" + BLOG + "nothing-here")
    t.ok(rc == 0 and "Array of 0 items" in out,
         "xmlrpc getPingbacks of an unpinged post: an empty array",
         "rc %r stdout %r stderr %r" % (rc, out, err))


def test_utf8_target():
    tg = BLOG + "2010/07/f%C3%BCr-alle/"
    src = origin.page("/src/cli-utf8.html", link_page(
        BLOG + "2010/07/für-alle/"))
    rc, out, err = cli("pingback.ping", "s/" + src, "s/" + tg)
    t.ok(rc == 0 and "registered" in out,
         "xmlrpc: raw UTF-8 href matches the percent-encoded target",
         "rc %r stdout %r stderr %r" % (rc, out, err))


res = []
t.run(lambda: res.append(test_ping_success()))
t.run(test_faults)
t.run(test_list_methods)
if res and res[0]:
    t.run(test_get_pingbacks, *res[0])
t.run(test_utf8_target)
sys.exit(t.done())
