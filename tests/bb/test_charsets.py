#!/usr/bin/env python3
"""Charsets: the German fixture in UTF-8, windows-1252 (declared only by
<meta charset>) and ISO-8859-1, and pages whose charset is only in the
HTTP header, all stored as the same correct UTF-8 title and excerpt."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BLOG  # noqa: E402
from origin import Origin  # noqa: E402

TITLE = "Fachwissen für (kommende) Social Media Manager | Versicherung2.0"
LINK_DE = "„Brauchen Unternehmen einen Social Media Manager?“"
LINK_PLAIN = "\"Brauchen Unternehmen einen Social Media Manager?\""
MOJIBAKE = ("Ã", "Â", "â€", "\ufffd", "\x84", "\x93")

harness.require_daemon()
t = harness.TAP("test_charsets")
tmp = harness.mktmp("charsets")
origin = Origin(harness.ORIGIN_HOST)
d = harness.Daemon(tmp, harness.base_config(tmp), name="charsets")
t.start(d)
stored = {}


def one(name, fixture, ctype, link_text):
    target = BLOG + "2010/07/smm-%s/" % name
    path = "/src/%s.html" % name
    src = origin.fixture(path, fixture, ctype, TARGET=target,
                         SOURCE=origin.url(path), XMLRPC=d.url())
    r = d.ping(src, target)
    t.ok(r.ok, "%s: pingback accepted" % name, "got %r" % (r,))
    rows = d.rows("source = ?", (src,))
    if not t.eq(len(rows), 1, "%s: row stored" % name):
        return
    row = rows[0]
    stored[name] = row
    t.eq(row["__bad_utf8"], [], "%s: stored text is valid UTF-8" % name)
    t.eq(row["title"], TITLE, "%s: title is the same UTF-8 text" % name)
    ex = row["excerpt"] or ""
    t.ok(link_text in ex, "%s: excerpt has the link text with the page's "
         "own quotes" % name, "excerpt: %r" % ex)
    t.ok("Grö" in ex or "Häuser" in ex or "Stimmen aus Marketing" in ex,
         "%s: excerpt has the surrounding text" % name, "excerpt: %r" % ex)
    bad = [m for m in MOJIBAKE if m in ex or m in (row["title"] or "")]
    t.ok(not bad, "%s: no mojibake or replacement characters" % name,
         "found %r in %r" % (bad, ex))
    t.eq(row["status"], "pending", "%s: status is the default 'pending'"
         % name)


def test_utf8():
    one("utf8", "source-de-utf8.html", "text/html; charset=utf-8", LINK_DE)


def test_utf8_header_only():
    one("utf8-header", "source-de-utf8-nometa.html",
        "text/html; charset=utf-8", LINK_DE)


def test_utf8_header_quoted():
    one("utf8-header-quoted", "source-de-utf8-nometa.html",
        "text/html;charset=\"UTF-8\"", LINK_DE)


def test_windows1252_meta_only():
    one("windows1252", "source-de-windows1252.html", "text/html", LINK_DE)


def test_latin1_meta():
    one("latin1", "source-de-latin1.html", "text/html", LINK_PLAIN)


def test_latin1_header_only():
    one("latin1-header", "source-de-latin1-nometa.html",
        "text/html; charset=ISO-8859-1", LINK_PLAIN)


def test_same_text():
    u = stored.get("utf8")
    if u is None:
        t.skip("excerpts identical across charsets", "no utf8 row")
        return
    for name in ("utf8-header", "utf8-header-quoted", "windows1252"):
        if name in stored:
            t.eq(stored[name]["excerpt"], u["excerpt"],
                 "%s excerpt identical to the utf8 one" % name)
    # latin1 pages have plain quotes and '-' where the others have &ndash;
    plain = (u["excerpt"] or "").replace("„", "\"").replace("“", "\"") \
        .replace("–", "-")
    for name in ("latin1", "latin1-header"):
        if name in stored:
            t.eq(stored[name]["excerpt"], plain,
                 "%s excerpt is the utf8 one with the page's own quotes"
                 % name)


def test_entities_and_whitespace():
    tg = BLOG + "post-entities"
    body = ("<html><head><title>\n  Caf&eacute; &amp;   Cr&#232;me\t&#x2013; "
            "&quot;Tipps&quot;  </title></head><body><p>Vorher &uuml;ber "
            "<a href=\"%s\">den&nbsp;Beitrag</a> nachher.</p></body></html>"
            % tg).encode("ascii")
    src = origin.page("/src/entities.html", body, "text/html")
    r = d.ping(src, tg)
    t.ok(r.ok, "entities page accepted", "got %r" % (r,))
    rows = d.rows("source = ?", (src,))
    if rows:
        t.eq(rows[0]["title"], "Café & Crème – \"Tipps\"",
             "title: entities decoded, whitespace collapsed")
        ex = rows[0]["excerpt"] or ""
        t.ok("über" in ex and "nachher" in ex and "&" not in ex,
             "excerpt: entities decoded", "excerpt: %r" % ex)


def test_no_title():
    tg = BLOG + "post-notitle"
    src = origin.page("/src/notitle.html",
                      ("<html><body><p>x <a href=\"%s\">y</a></p></body>"
                       "</html>" % tg).encode())
    r = d.ping(src, tg)
    t.ok(r.ok, "page without <title> accepted", "got %r" % (r,))
    rows = d.rows("source = ?", (src,))
    if rows:
        t.eq(rows[0]["title"], harness.ORIGIN_HOST,
             "missing title stored as the source's host")


def test_long_excerpt():
    tg = BLOG + "post-long"
    words = " ".join("Wort%03d" % i for i in range(200))
    body = ("<html><head><title>lang</title></head><body><p>%s <a href="
            "\"%s\">der Link</a> %s</p></body></html>"
            % (words, tg, words)).encode()
    src = origin.page("/src/long.html", body)
    r = d.ping(src, tg)
    t.ok(r.ok, "long page accepted", "got %r" % (r,))
    rows = d.rows("source = ?", (src,))
    if rows:
        ex = rows[0]["excerpt"] or ""
        t.ok(0 < len(ex) <= 300 and "der Link" in ex,
             "long page: excerpt <= 300 characters, link text included",
             "length %d: %r" % (len(ex), ex))
        t.ok("…" in ex or "..." in ex, "long page: ellipsis where cut",
             "excerpt: %r" % ex)
    # 4-byte characters: cut by characters, never inside one
    tg3 = BLOG + "post-emoji"
    src3 = origin.page("/src/emoji.html", (
        "<html><head><title>e</title></head><body><p>%s<a href=\"%s\">"
        "hier</a>%s</p></body></html>" % ("\U0001F600" * 1000, tg3,
                                          "\u00e4" * 1000)).encode())
    r = d.ping(src3, tg3)
    rows = d.rows("source = ?", (src3,))
    t.ok(r.ok and rows and 0 < len(rows[0]["excerpt"]) <= 300
         and not rows[0]["__bad_utf8"] and "hier" in rows[0]["excerpt"],
         "excerpt of 4-byte characters: <= 300 characters, valid UTF-8",
         "got %r rows %r" % (r, rows))
    # a very long title is cut to at most 300 characters, still valid UTF-8
    tg2 = BLOG + "post-longtitle"
    src2 = origin.page("/src/longtitle.html", (
        "<html><head><title>%s</title></head><body><a href=\"%s\">x</a>"
        "</body></html>" % ("ä" * 5000, tg2)).encode())
    r = d.ping(src2, tg2)
    rows = d.rows("source = ?", (src2,))
    t.ok(r.ok and rows and len(rows[0]["title"]) <= 300
         and not rows[0]["__bad_utf8"],
         "5000-character title stored cut to <= 300 characters, valid UTF-8",
         "got %r, title length %s" % (r, len(rows[0]["title"]) if rows
                                      else None))


t.run(test_utf8)
t.run(test_utf8_header_only)
t.run(test_utf8_header_quoted)
t.run(test_windows1252_meta_only)
t.run(test_latin1_meta)
t.run(test_latin1_header_only)
t.run(test_same_text)
t.run(test_entities_and_whitespace)
t.run(test_no_title)
t.run(test_long_excerpt)
sys.exit(t.done())
