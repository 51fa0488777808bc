#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define LOG_LINE_BYTES	8192

static int		 log_level = LOG_INFO;
static enum log_format	 log_format = LOG_FORMAT_LOGFMT;
static int		 log_journal;	/* stderr is journald's stream */
static FILE		*log_stream;

static const struct {
	const char	*name;
	int		 prio;
} log_levels[] = {
	{ "debug", LOG_DEBUG },
	{ "info", LOG_INFO },
	{ "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING },
	{ "err", LOG_ERR },
	{ "crit", LOG_CRIT },
};

void
log_init(int level, enum log_format format)
{
	log_level = level;
	log_format = format;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	log_stream = NULL;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return (log_level);
}

void
log_setformat(enum log_format format)
{
	log_format = format;
}

void
log_setstream(FILE *fp)
{
	log_stream = fp;
}

int
log_level_parse(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcmp(name, log_levels[i].name) == 0)
			return (log_levels[i].prio);
	return (-1);
}

const char *
log_level_name(int prio)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].prio == prio)
			return (log_levels[i].name);
	return (prio < LOG_CRIT ? "crit" : "debug");
}

/*
 * Lines are built in a fixed buffer.  Values stop where they would run
 * into the last LOG_RESERVE bytes, which are kept for what closes the
 * line (a quote, the ts field, the JSON brace), so a cut line is still
 * well formed.
 */
#define LOG_RESERVE	96

/* Append n bytes if they fit whole; force may use the reserve. */
static int
log_putn(char *buf, size_t len, size_t *off, const char *s, size_t n,
    int force)
{
	size_t	 limit = force ? len : len - LOG_RESERVE;

	if (*off + n + 1 > limit)
		return (-1);
	memcpy(buf + *off, s, n);
	*off += n;
	buf[*off] = '\0';
	return (0);
}

static void
log_putc(char *buf, size_t len, size_t *off, char c)
{
	log_putn(buf, len, off, &c, 1, 1);
}

static void
log_puts(char *buf, size_t len, size_t *off, const char *s)
{
	log_putn(buf, len, off, s, strlen(s), 0);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t
log_utf8_len(const unsigned char *s)
{
	size_t	 n, i;

	if (s[0] < 0x80)
		return (1);
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return (0);
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return (0);
	if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
		return (0);
	if (n == 3 && s[0] == 0xed && s[1] >= 0xa0)
		return (0);
	if (n == 4 && s[0] == 0xf0 && s[1] < 0x90)
		return (0);
	if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90)
		return (0);
	return (n);
}

/*
 * Escape s as a quoted value: quotes and backslashes get a backslash,
 * controls become \n, \t, \r or \xNN (JSON: \u00NN), and bytes that
 * are not UTF-8 become \xNN (JSON: \ufffd), so no value can forge a
 * line or a key.  A value too long for the line ends in "...".
 */
static void
log_quote(char *buf, size_t len, size_t *off, const char *s, int json)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	const char		*unit;
	size_t			 n;

	log_putc(buf, len, off, '"');
	while (*p != '\0') {
		unit = esc;
		n = 1;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			n = 2;
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			n = (size_t)snprintf(esc, sizeof(esc),
			    json ? "\\u%04x" : "\\x%02x", *p);
		} else if ((n = log_utf8_len(p)) == 0) {
			n = (size_t)snprintf(esc, sizeof(esc),
			    json ? "\\ufffd" : "\\x%02x", *p);
			p++;
			if (log_putn(buf, len, off, esc, n, 0) == -1)
				break;
			continue;
		} else
			unit = (const char *)p;
		if (log_putn(buf, len, off, unit, n, 0) == -1) {
			log_putn(buf, len, off, "...", 3, 1);
			break;
		}
		p += unit == esc ? 1 : n;
	}
	log_putc(buf, len, off, '"');
}

/* A logfmt value may stay bare if it has only these characters. */
static int
log_is_bare(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:/@+~,", *s) ==
		    NULL)
			return (0);
	return (1);
}

static int
log_is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0' || (*s == '0' && s[1] != '\0'))
		return (0);
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return (0);
	return (1);
}

/* Append one key and value; a field that has no room left is dropped. */
static void
log_field(char *buf, size_t len, size_t *off, const char *key,
    const char *val)
{
	int	 json = log_format == LOG_FORMAT_JSON;

	if (*off + strlen(key) + 16 > len - LOG_RESERVE)
		return;
	if (json) {
		log_puts(buf, len, off, ",");
		log_quote(buf, len, off, key, 1);
		log_puts(buf, len, off, ":");
		if (!log_is_number(val) || strlen(val) >= 16 ||
		    log_putn(buf, len, off, val, strlen(val), 0) == -1)
			log_quote(buf, len, off, val, 1);
		return;
	}
	log_puts(buf, len, off, " ");
	log_puts(buf, len, off, key);
	log_puts(buf, len, off, "=");
	if (!log_is_bare(val) ||
	    log_putn(buf, len, off, val, strlen(val), 0) == -1)
		log_quote(buf, len, off, val, 0);
}

/* The ts field, written into the reserve. */
static void
log_tail(char *buf, size_t len, size_t *off, const char *ts)
{
	char	 field[64];

	snprintf(field, sizeof(field), log_format == LOG_FORMAT_JSON ?
	    ",\"ts\":\"%s\"" : " ts=%s", ts);
	log_putn(buf, len, off, field, strlen(field), 1);
}

void
log_eventv(int prio, const char *event, va_list ap)
{
	char		 buf[LOG_LINE_BYTES], ts[32];
	const char	*key, *val;
	size_t		 off = 0;
	struct tm	 tm;
	time_t		 now;
	int		 saved_errno = errno;

	if (prio > log_level) {
		errno = saved_errno;
		return;
	}
	buf[0] = '\0';
	if (log_journal)
		snprintf(buf, sizeof(buf), "<%d>", prio);
	off = strlen(buf);
	if (log_format == LOG_FORMAT_JSON) {
		log_puts(buf, sizeof(buf), &off, "{\"level\":");
		log_quote(buf, sizeof(buf), &off, log_level_name(prio), 1);
		log_field(buf, sizeof(buf), &off, "event", event);
	} else {
		log_puts(buf, sizeof(buf), &off, "level=");
		log_puts(buf, sizeof(buf), &off, log_level_name(prio));
		log_field(buf, sizeof(buf), &off, "event", event);
	}
	while ((key = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		if (val != NULL)
			log_field(buf, sizeof(buf), &off, key, val);
	}
	if (!log_journal) {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		log_tail(buf, sizeof(buf), &off, ts);
	}
	if (log_format == LOG_FORMAT_JSON)
		log_putc(buf, sizeof(buf), &off, '}');
	fprintf(log_stream != NULL ? log_stream : stderr, "%s\n", buf);
	fflush(log_stream != NULL ? log_stream : stderr);
	errno = saved_errno;
}

void
log_event(int prio, const char *event, ...)
{
	va_list	 ap;

	va_start(ap, event);
	log_eventv(prio, event, ap);
	va_end(ap);
}

static void
log_msg(int prio, const char *event, const char *err, const char *fmt,
    va_list ap)
{
	char	 msg[LOG_LINE_BYTES / 2];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_event(prio, event, "msg", msg, "error", err, NULL);
}

#define LOG_FUNC(name, prio, event, witherr)				\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved_errno = errno;					\
									\
	va_start(ap, fmt);						\
	log_msg(prio, event, witherr ? strerror(saved_errno) : NULL,	\
	    fmt, ap);							\
	va_end(ap);							\
	errno = saved_errno;						\
}

LOG_FUNC(log_warn, LOG_ERR, "log", 1)
LOG_FUNC(log_warnx, LOG_WARNING, "log", 0)
LOG_FUNC(log_notice, LOG_NOTICE, "log", 0)
LOG_FUNC(log_info, LOG_INFO, "log", 0)
LOG_FUNC(log_debug, LOG_DEBUG, "log", 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	log_msg(LOG_CRIT, "fatal", strerror(saved_errno), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_msg(LOG_CRIT, "fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
