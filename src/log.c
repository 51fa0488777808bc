/*
 * Logging: structured lines to stderr, or, when stderr is journald's
 * stream, to the journal's native socket with the line as MESSAGE= and
 * the keys operators search by as fields of their own.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_LINE_BYTES		8192
#define LOG_JOURNAL_SOCKET	"/run/systemd/journal/socket"

static int		 log_level = LOG_INFO;
static enum log_format	 log_format = LOG_FORMAT_LOGFMT;
static int		 log_journal;	/* stderr is journald's stream */
static FILE		*log_stream;
static log_journal_cb	 log_sendv;	/* native journal, or NULL */

/*
 * Journal fields from the event's keys; the event name itself goes to
 * PINGBACKD_EVENT=.  Values are sent as given, unescaped (journal
 * fields are binary-safe), cut at LOG_JOURNAL_VALUE_BYTES.
 */
static const struct {
	const char	*key;
	const char	*field;
} log_journal_keys[] = {
	{ "source", "SOURCE_URL" },
	{ "target", "TARGET_URL" },
	{ "id", "PINGBACK_ID" },
	{ "fault", "FAULT_CODE" },
};
#define LOG_NJOURNAL_KEYS \
	(sizeof(log_journal_keys) / sizeof(log_journal_keys[0]))

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

/*
 * Is stderr the journal stream systemd gave us (JOURNAL_STREAM is its
 * device:inode), with journald's socket there?  A stderr redirected
 * elsewhere, or a JOURNAL_STREAM inherited from a session, is not.
 */
static int
log_journal_native(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;
	char			 c;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &c) != 2)
		return (0);
	if (fstat(STDERR_FILENO, &st) == -1 ||
	    (unsigned long long)st.st_dev != dev ||
	    (unsigned long long)st.st_ino != ino)
		return (0);
	return (stat(LOG_JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode));
}

void
log_init(int level, enum log_format format)
{
	log_level = level;
	log_format = format;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
	log_stream = NULL;
	log_sendv = log_journal_native() ? sd_journal_sendv : NULL;
}

void
log_setjournal(log_journal_cb fn)
{
	log_sendv = fn;
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

/*
 * Append "FIELD=value" to iov, the value cut to at most vmax bytes at a
 * character boundary; fbuf has room for the field name, "=" and vmax.
 */
static void
log_journal_field(struct iovec *iov, int *n, char *fbuf, size_t flen,
    const char *field, const char *val, size_t vmax)
{
	size_t	 len, vlen = strlen(val);

	len = (size_t)snprintf(fbuf, flen, "%s=", field);
	if (vmax > flen - len)
		vmax = flen - len;
	if (vlen > vmax) {
		vlen = vmax;
		while (vlen > 0 && ((unsigned char)val[vlen] & 0xc0) == 0x80)
			vlen--;
	}
	memcpy(fbuf + len, val, vlen);
	iov[*n].iov_base = fbuf;
	iov[*n].iov_len = len + vlen;
	(*n)++;
}

/*
 * Send one line to the journal with its fields; vals[] are the values
 * of log_journal_keys[] (NULL: absent).  0 if sent.
 */
static int
log_journal_send(int prio, const char *event, const char *msg,
    const char *const *vals)
{
	struct iovec	 iov[4 + LOG_NJOURNAL_KEYS];
	char		 fbuf[1 + LOG_NJOURNAL_KEYS]
			    [LOG_JOURNAL_VALUE_BYTES + 24];
	static char	 ident[] = "SYSLOG_IDENTIFIER=pingbackd";
	char		 pbuf[16], mbuf[LOG_LINE_BYTES + 16];
	size_t		 i;
	int		 n = 0;

	log_journal_field(iov, &n, mbuf, sizeof(mbuf), "MESSAGE", msg,
	    LOG_LINE_BYTES);
	snprintf(pbuf, sizeof(pbuf), "PRIORITY=%d", prio);
	iov[n].iov_base = pbuf;
	iov[n++].iov_len = strlen(pbuf);
	iov[n].iov_base = ident;
	iov[n++].iov_len = sizeof(ident) - 1;
	log_journal_field(iov, &n, fbuf[0], sizeof(fbuf[0]),
	    "PINGBACKD_EVENT", event, LOG_JOURNAL_VALUE_BYTES);
	for (i = 0; i < LOG_NJOURNAL_KEYS; i++)
		if (vals[i] != NULL)
			log_journal_field(iov, &n, fbuf[i + 1],
			    sizeof(fbuf[i + 1]), log_journal_keys[i].field,
			    vals[i], LOG_JOURNAL_VALUE_BYTES);
	return (log_sendv(iov, n) < 0 ? -1 : 0);
}

void
log_eventv(int prio, const char *event, va_list ap)
{
	char		 buf[LOG_LINE_BYTES], ts[32];
	const char	*key, *val, *jvals[LOG_NJOURNAL_KEYS];
	size_t		 off = 0, pfx, i;
	struct tm	 tm;
	time_t		 now;
	int		 saved_errno = errno;

	if (prio > log_level) {
		errno = saved_errno;
		return;
	}
	memset(jvals, 0, sizeof(jvals));
	buf[0] = '\0';
	if (log_journal || log_sendv != NULL)
		snprintf(buf, sizeof(buf), "<%d>", prio);
	off = pfx = strlen(buf);
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
		if (val == NULL)
			continue;
		log_field(buf, sizeof(buf), &off, key, val);
		for (i = 0; i < LOG_NJOURNAL_KEYS; i++)
			if (jvals[i] == NULL &&
			    strcmp(key, log_journal_keys[i].key) == 0)
				jvals[i] = val;
	}
	if (!log_journal && log_sendv == NULL) {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		log_tail(buf, sizeof(buf), &off, ts);
	}
	if (log_format == LOG_FORMAT_JSON)
		log_putc(buf, sizeof(buf), &off, '}');
	/* If the journal will not take it, stderr with the prefix will. */
	if (log_sendv != NULL &&
	    log_journal_send(prio, event, buf + pfx, jvals) == 0) {
		errno = saved_errno;
		return;
	}
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

static void	log_msg(int, const char *, const char *, const char *, va_list)
		    __attribute__((format(printf, 4, 0)));

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
