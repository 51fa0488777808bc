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

/* Append one byte if it fits, keeping room for the terminator. */
static void
log_putc(char *buf, size_t len, size_t *off, char c)
{
	if (*off + 1 < len)
		buf[(*off)++] = c;
	buf[*off < len ? *off : len - 1] = '\0';
}

static void
log_puts(char *buf, size_t len, size_t *off, const char *s)
{
	while (*s != '\0')
		log_putc(buf, len, off, *s++);
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
 * controls and bytes that are not UTF-8 become \n, \t or \xNN (JSON:
 * \u00NN), so no value can forge a line or a key.
 */
static void
log_quote(char *buf, size_t len, size_t *off, const char *s, int json)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 hex[8];
	size_t			 n, i;

	log_putc(buf, len, off, '"');
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			log_putc(buf, len, off, '\\');
			log_putc(buf, len, off, (char)*p++);
		} else if (*p == '\n') {
			log_puts(buf, len, off, "\\n");
			p++;
		} else if (*p == '\t') {
			log_puts(buf, len, off, "\\t");
			p++;
		} else if (*p == '\r') {
			log_puts(buf, len, off, "\\r");
			p++;
		} else if (*p < 0x20 || *p == 0x7f ||
		    (n = log_utf8_len(p)) == 0) {
			snprintf(hex, sizeof(hex), json ? "\\u%04x" : "\\x%02x",
			    *p++);
			log_puts(buf, len, off, hex);
		} else {
			for (i = 0; i < n; i++)
				log_putc(buf, len, off, (char)*p++);
		}
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

size_t
log_escape(char *buf, size_t len, const char *s)
{
	size_t	 off = strlen(buf);

	if (log_is_bare(s))
		log_puts(buf, len, &off, s);
	else
		log_quote(buf, len, &off, s, 0);
	return (off);
}

static void
log_field(char *buf, size_t len, size_t *off, const char *key,
    const char *val)
{
	if (log_format == LOG_FORMAT_JSON) {
		log_putc(buf, len, off, ',');
		log_quote(buf, len, off, key, 1);
		log_putc(buf, len, off, ':');
		if (log_is_number(val) && strlen(val) < 16)
			log_puts(buf, len, off, val);
		else
			log_quote(buf, len, off, val, 1);
		return;
	}
	log_putc(buf, len, off, ' ');
	log_puts(buf, len, off, key);
	log_putc(buf, len, off, '=');
	if (log_is_bare(val))
		log_puts(buf, len, off, val);
	else
		log_quote(buf, len, off, val, 0);
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
		log_field(buf, sizeof(buf), &off, "ts", ts);
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
