#!/usr/bin/env python3
"""pingback.ping end to end: the German fixture stored as it should be,
link matching (relative, <base href>, fragment, host case, escapes,
default port, after redirects, <area>), links that are not links,
getPingbacks, duplicates and system.listMethods."""

import datetime
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import link_page, Origin  # noqa: E402

TITLE = "Fachwissen für (kommende) Social Media Manager | Versicherung2.0"
LINK_TEXT = "„Brauchen Unternehmen einen Social Media Manager?“"

harness.require_daemon()
t = harness.TAP("test_ping")
tmp = harness.mktmp("ping")
origin = Origin(harness.ORIGIN_HOST)
OBLOG = origin.url("/blog/")
d = harness.Daemon(tmp, harness.base_config(
    tmp, allow="%s %s" % (BLOG, OBLOG),
    store={"default_status": "approved"}), name="ping")
t.start(d)


def expect_ok(r, desc):
    return t.ok(r.ok and isinstance(r.value, str), desc, "got %r" % (r,))


def expect_fault(r, code, desc):
    return t.ok(r.fault == code and bool(r.fault_string), desc,
                "want fault %d, got %r" % (code, r))


def test_happy_path():
    target = BLOG + "2010/07/social-media-manager/"
    src = origin.fixture("/src/de-utf8.html", "source-de-utf8.html",
                         "text/html; charset=utf-8", TARGET=target,
                         SOURCE=origin.url("/src/de-utf8.html"),
                         XMLRPC=d.url())
    mark = d.mark()
    before = datetime.datetime.now(datetime.timezone.utc)
    r = d.ping(src, target)
    expect_ok(r, "utf8 fixture: pingback.ping succeeds")
    t.ok(isinstance(r.value, str) and "registered" in r.value,
         "success string says 'registered'", "got %r" % (r.value,))
    t.eq(origin.count("/src/de-utf8.html"), 1, "source fetched once")
    ua = origin.hits("/src/de-utf8.html")[0][2].get("user-agent", "") \
        if origin.hits("/src/de-utf8.html") else ""
    t.eq(ua, "pingbackd-bb-test", "fetch sends fetch.user_agent")
    # answered only after the commit: the row must be there right now
    rows = d.rows("source = ?", (src,))
    if not t.eq(len(rows), 1, "one row stored, readable at once"):
        return
    row = rows[0]
    t.eq(row["kind"], "pingback", "kind = pingback")
    t.eq(row["source"], src, "source stored as sent")
    t.eq(row["target"], target, "target stored as sent")
    t.eq(row["title"], TITLE, "title decoded exactly")
    ex = row["excerpt"] or ""
    t.ok(LINK_TEXT in ex, "excerpt contains the link text with its quotes",
         "excerpt: %r" % ex)
    t.ok("gibt es im Beitrag" in ex and "dort geht es" in ex,
         "excerpt contains the text before and after the link",
         "excerpt: %r" % ex)
    t.ok(len(ex) <= 300, "excerpt at most 300 characters",
         "length %d" % len(ex))
    t.ok("auskommentierter" not in ex and "<a" not in ex and "&ndash;" not in ex,
         "excerpt is plain text without comments, tags or entities",
         "excerpt: %r" % ex)
    t.eq(row["__bad_utf8"], [], "title and excerpt are valid UTF-8")
    t.eq(row["status"], "approved", "status = store.default_status")
    t.eq(row["client_ip"], "127.0.0.1", "client_ip = 127.0.0.1")
    ra = row["received_at"] or ""
    okfmt = bool(harness.RFC3339_UTC.match(ra))
    t.ok(okfmt, "received_at is RFC 3339 UTC", "got %r" % ra)
    if okfmt:
        when = datetime.datetime.strptime(ra[:19], "%Y-%m-%dT%H:%M:%S") \
            .replace(tzinfo=datetime.timezone.utc)
        t.ok(abs((when - before).total_seconds()) < 120,
             "received_at is now", "received_at %s, now %s" % (ra, before))
    if "source_norm" in row:
        t.ok(row.get("source_norm") and row.get("target_norm"),
             "normalised columns filled", "row %r" % row)
    line = d.wait_log("pingback.accepted", since=mark, timeout=5,
                      source=src)
    t.ok(line is not None, "event=pingback.accepted logged")
    if line:
        f = line.fields
        t.ok(f.get("target") == target and f.get("client") == "127.0.0.1"
             and f.get("method") == "pingback.ping"
             and f.get("row") == str(row["id"]) and f.get("id")
             and (f.get("ms") or "x").isdigit(),
             "accepted line has target, client, method, row, id and ms",
             line.raw)
    return src, target


def test_get_pingbacks(src, target):
    r = d.call("pingback.extensions.getPingbacks", target)
    t.ok(r.ok and isinstance(r.value, list) and src in r.value,
         "getPingbacks lists the registered source", "got %r" % (r,))
    r2 = d.call("pingback.extensions.getPingbacks",
                "http://BLOG.example.com/2010/07/social-media-manager/#c")
    t.ok(r2.ok and isinstance(r2.value, list) and src in r2.value,
         "getPingbacks normalises its argument", "got %r" % (r2,))
    r3 = d.call("pingback.extensions.getPingbacks", BLOG + "no-such-post/")
    t.ok(r3.ok and r3.value == [], "getPingbacks of an unpinged post is []",
         "got %r" % (r3,))


def test_duplicates(src, target):
    n = origin.count()
    r = d.ping(src, target)
    expect_fault(r, 48, "same pingback again: fault 48")
    r = d.ping(src, target.replace("blog.example.com", "Blog.Example.COM"))
    expect_fault(r, 48, "target differing in host case: fault 48")
    r = d.ping(src + "#comments", target + "#respond")
    expect_fault(r, 48, "source/target differing by fragment: fault 48")
    r = d.ping(src, target.replace("http://blog.example.com/",
                                   "http://blog.example.com:80/"))
    expect_fault(r, 48, "target with explicit default port: fault 48")
    t.eq(len(d.rows("target = ?", (target,))), 1,
         "still only one row for the pair")
    t.diag("origin fetches during duplicate checks: %d" % (origin.count() - n))


def matched(name, href, target, extra_head="", path=None, page_path=None):
    """Register a page whose only link has href; ping; expect success."""
    page_path = page_path or "/src/%s.html" % name
    body = ("<!DOCTYPE html><html><head><meta charset=utf-8>%s"
            "<title>%s</title></head><body><p>Read <a href=\"%s\">this</a>"
            " now.</p></body></html>" % (extra_head, name, href)).encode()
    origin.page(page_path, body)
    src = path or origin.url(page_path)
    r = d.ping(src, target)
    expect_ok(r, "link matched: %s" % name)
    return r


def test_link_matching():
    matched("relative", "../blog/post-rel", OBLOG + "post-rel")
    matched("root-relative", "/blog/post-root", OBLOG + "post-root")
    matched("base-href", "post-base", BLOG + "2010/post-base",
            extra_head="<base href=\"http://blog.example.com/2010/\">")
    matched("fragment-in-href", BLOG + "post-frag#comments",
            BLOG + "post-frag")
    matched("fragment-in-target", BLOG + "post-frag2",
            BLOG + "post-frag2#respond")
    matched("host-case", "http://BLOG.Example.COM/post-case",
            BLOG + "post-case")
    matched("scheme-case", "HTTP://blog.example.com/post-scheme",
            BLOG + "post-scheme")
    matched("percent-escapes", "http://blog.example.com/%7Euser/caf%c3%a9",
            BLOG + "~user/caf%C3%A9")
    matched("default-port", "http://blog.example.com:80/post-port",
            BLOG + "post-port")
    matched("empty-path", "http://blog.example.com", BLOG)
    matched("entity-in-href", "http://blog.example.com/p?a=1&amp;b=2",
            BLOG + "p?a=1&b=2")
    # relative to the final URL after a redirect, not the first one
    origin.page("/src/final/page.html",
                b"<html><head><title>r</title></head><body>"
                b"<a href=\"../../blog/post-redir\">x</a></body></html>")
    first = origin.redirect("/src/deep/er/start", origin.url(
        "/src/final/page.html"))
    r = d.ping(first, OBLOG + "post-redir")
    expect_ok(r, "relative link resolved against the final URL")
    # <area> counts as a link
    origin.page("/src/area.html",
                ("<html><head><title>map</title></head><body>"
                 "<map name=m><area shape=rect coords=0,0,1,1 href=\"%s\">"
                 "</map></body></html>" % (BLOG + "post-area")).encode())
    expect_ok(d.ping(origin.url("/src/area.html"), BLOG + "post-area"),
              "link matched: <area href>")


def not_link(name, body, target):
    p = "/src/nolink-%s.html" % "".join(c if c.isalnum() else "-"
                                         for c in name)
    origin.page(p, body.encode())
    expect_fault(d.ping(origin.url(p), target), 17,
                 "fault 17: link only %s" % name)


def test_not_links():
    tg = BLOG + "post-notlink"
    head = "<html><head><title>x</title>%s</head><body>%s</body></html>"
    not_link("in a comment", head % ("", "<!-- <a href=\"%s\">x</a> -->" % tg),
             tg)
    not_link("in a script", head % (
        "", "<script>document.write('<a href=\"%s\">x</a>')</script>" % tg),
        tg)
    not_link("in a style", head % (
        "<style>/* <a href=\"%s\">x</a> */</style>" % tg, "<p>hi</p>"), tg)
    not_link("in an attribute value", head % (
        "", "<p data-x='<a href=\"%s\">x</a>' title=\"%s\">hi</p>" % (tg, tg)),
        tg)
    not_link("as plain text", head % ("", "<p>see %s</p>" % tg), tg)
    not_link("in <link rel>", head % (
        "<link rel=\"canonical\" href=\"%s\">" % tg, "<p>hi</p>"), tg)
    not_link("to a different post", head % (
        "", "<a href=\"%sother\">x</a>" % tg), tg)
    not_link("to a longer path", head % (
        "", "<a href=\"%s/more\">x</a>" % tg), tg)
    not_link("to another host", head % (
        "", "<a href=\"http://blog.example.org/post-notlink\">x</a>"), tg)
    t.ok(d.running(), "daemon still running after the not-link cases")


def test_odd_pages():
    tg = BLOG + "post-odd-%s"

    def raw_page(name, body, ctype):
        def h(req):
            req._send(200, body, ctype)
        origin.routes["/src/odd-" + name] = h
        return origin.url("/src/odd-" + name)
    r = d.ping(raw_page("noctype", link_page(tg % 1), None), tg % 1)
    t.ok(r.ok, "page without Content-Type is taken as HTML", "got %r" % (r,))
    bom = b"\xef\xbb\xbf" + link_page(tg % 2, title="Gr\u00fc\u00dfe")
    bom = bom.replace(b"<meta charset=\"utf-8\">", b"")
    src = raw_page("bom", bom, "text/html")
    r = d.ping(src, tg % 2)
    rows = d.rows("source = ?", (src,))
    t.ok(r.ok and rows and rows[0]["title"] == "Grüße",
         "UTF-8 BOM without a declared charset: decoded as UTF-8",
         "got %r, rows %r" % (r, rows))
    many = b"<html><head><title>many</title></head><body>" + b"".join(
        b"<p><a href=\"http://else.example/%d\">l%d</a></p>" % (i, i)
        for i in range(20000)) + (b"<a href=\"%s\">it</a></body></html>"
                                  % (tg % 3).encode())
    r = d.ping(raw_page("many", many, "text/html"), tg % 3)
    t.ok(r.ok and r.elapsed < 5, "20000 other links before the one: found "
         "quickly", "got %r" % (r,))
    deep = b"<html><head><title>deep</title></head><body>" + \
        b"<div>" * 50000 + b"<a href=\"%s\">x</a>" % (tg % 4).encode() + \
        b"</div>" * 50000 + b"</body></html>"
    r = d.ping(raw_page("deep", deep, "text/html"), tg % 4)
    t.ok((r.ok or r.fault in (16, 17)) and r.elapsed < 5,
         "50000 nested <div>: answered quickly, no crash", "got %r" % (r,))
    junk = bytes(range(256)) * 64 + b"\0<a href=\"%s\">" % (tg % 5).encode()
    r = d.ping(raw_page("junk", junk, "text/html"), tg % 5)
    t.ok(r.ok or r.fault in (16, 17), "binary junk served as text/html: an "
         "answer, no crash", "got %r" % (r,))
    nul = link_page(tg % 6, before="Vor\0her ")
    r = d.ping(raw_page("nul", nul, "text/html"), tg % 6)
    t.ok(r.ok or r.fault == 17, "NUL byte before the link: an answer",
         "got %r" % (r,))
    if r.ok:
        rows = d.rows("target = ?", (tg % 6,))
        t.ok(rows and "\0" not in (rows[0]["excerpt"] or ""),
             "no NUL byte in the stored excerpt", "rows %r" % rows)
    bogus = link_page(tg % 7)
    r = d.ping(raw_page("bogus-cs", bogus,
                        "text/html; charset=x-no-such-charset"), tg % 7)
    t.ok(r.ok or r.fault in (16, 17), "unknown charset: an answer, no crash",
         "got %r" % (r,))
    two = ("<html><head><title>two</title></head><body><p>Erster Absatz "
           "<a href=\"%s\">eins</a> Ende eins.</p><p>Zweiter <a href=\"%s\">"
           "zwei</a> Ende zwei.</p></body></html>" % (tg % 8, tg % 8))
    src = raw_page("two", two.encode(), "text/html")
    r = d.ping(src, tg % 8)
    rows = d.rows("source = ?", (src,))
    t.ok(r.ok and rows and "eins" in (rows[0]["excerpt"] or ""),
         "two links to the target: one row, excerpt around the first",
         "got %r rows %r" % (r, rows))
    ws = link_page(tg % 9, title=" \n\t ")
    src = raw_page("ws-title", ws, "text/html")
    r = d.ping(src, tg % 9)
    rows = d.rows("source = ?", (src,))
    t.ok(r.ok and rows and rows[0]["title"] == harness.ORIGIN_HOST,
         "whitespace-only title: the host is stored", "rows %r" % rows)


def test_store_contract():
    db = sqlite3.connect(d.store_path, timeout=5, isolation_level=None)
    try:
        cols = [r[1] for r in db.execute("PRAGMA table_info(mentions)")]
        want = ["id", "kind", "source", "target", "title", "excerpt",
                "status", "client_ip", "received_at"]
        t.ok(all(c in cols for c in want), "mentions has the documented "
             "columns", "columns %r" % cols)
        row = db.execute("SELECT source, target, source_norm, target_norm "
                         "FROM mentions LIMIT 1").fetchone()
        dup_refused = False
        try:
            db.execute("INSERT INTO mentions (kind, source, target, "
                       "source_norm, target_norm, title, excerpt, status, "
                       "client_ip, received_at) VALUES ('pingback', ?, ?, ?, "
                       "?, 't', 'e', 'pending', '127.0.0.1', "
                       "'2026-01-01T00:00:00Z')", row)
        except sqlite3.IntegrityError:
            dup_refused = True
        t.ok(dup_refused, "the store refuses a second row for the same "
             "normalised pair (uniqueness rule)")
        # spam and deleted rows are not listed by getPingbacks
        tg = BLOG + "post-spam"
        src = origin.page("/src/spam.html", link_page(tg))
        r = d.ping(src, tg)
        t.ok(r.ok, "pingback to be marked as spam accepted", "got %r" % (r,))
        db.execute("UPDATE mentions SET status = 'spam' WHERE target = ?",
                   (tg,))
        r = d.call("pingback.extensions.getPingbacks", tg)
        t.ok(r.ok and r.value == [], "getPingbacks leaves out spam",
             "got %r" % (r,))
        r = d.ping(src, tg)
        t.ok(r.fault == 48, "a pingback marked spam is still a duplicate",
             "got %r" % (r,))
    finally:
        db.close()


def test_source_escapes_duplicate():
    tg = BLOG + "post-escdup"
    origin.page("/src/~user/page.html", link_page(tg))
    t.ok(d.ping(origin.url("/src/~user/page.html"), tg).ok,
         "source with ~ accepted")
    r = d.ping(origin.url("/src/%7euser/page.html"), tg)
    t.ok(r.fault == 48, "same source spelled %7e: fault 48", "got %r" % (r,))


def test_list_methods():
    r = d.call("system.listMethods")
    want = {"pingback.ping", "pingback.extensions.getPingbacks",
            "system.listMethods"}
    t.ok(r.ok and isinstance(r.value, list) and want <= set(r.value),
         "system.listMethods lists the three methods", "got %r" % (r,))


def test_fault_logged():
    mark = d.mark()
    src = origin.not_found("/src/gone.html")
    r = d.ping(src, BLOG + "post-gone")
    expect_fault(r, 16, "404 source: fault 16")
    line = d.wait_log("pingback.rejected", since=mark, timeout=5, source=src)
    t.ok(line is not None and line.get("fault") == "16"
         and line.get("reason") and line.get("client") == "127.0.0.1",
         "event=pingback.rejected logged with fault=16 and a reason",
         line.raw if line else "no line")


res = []
t.run(lambda: res.append(test_happy_path()))
if res and res[0]:
    res = res[0]
    t.run(test_get_pingbacks, *res)
    t.run(test_duplicates, *res)
t.run(test_link_matching)
t.run(test_not_links)
t.run(test_odd_pages)
t.run(test_store_contract)
t.run(test_source_escapes_duplicate)
t.run(test_list_methods)
t.run(test_fault_logged)
sys.exit(t.done())
