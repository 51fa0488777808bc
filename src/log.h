/*
 * Logging: one line per event, logfmt (key=value) or JSON, to stderr.
 * Under systemd (JOURNAL_STREAM set) each line carries an sd-daemon
 * "<N>" priority prefix so journald files it at the right level.  When
 * stderr is that journal stream and journald's socket is there, lines
 * go through sd_journal_sendv instead: MESSAGE= is the line, PRIORITY=
 * its level, and the keys source, target, id and fault (and the event)
 * become SOURCE_URL=, TARGET_URL=, PINGBACK_ID=, FAULT_CODE= (and
 * PINGBACKD_EVENT=); if the journal refuses a line, it goes to stderr.
 * Every value is escaped: callers may pass untrusted strings.
 */
#ifndef PBD_LOG_H
#define PBD_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#define LOG_JOURNAL_VALUE_BYTES	2048	/* a journal field's value, at most */

struct iovec;
/* sd_journal_sendv's shape: a native journal entry; < 0 on failure. */
typedef int	(*log_journal_cb)(const struct iovec *, int);

enum log_format {
	LOG_FORMAT_LOGFMT,
	LOG_FORMAT_JSON
};

void	 log_init(int level, enum log_format format);
void	 log_setlevel(int level);
void	 log_setformat(enum log_format format);
void	 log_setstream(FILE *);		/* tests: capture output */
/* Send to the journal through fn (NULL: stderr only); for tests. */
void	 log_setjournal(log_journal_cb fn);
int	 log_getlevel(void);
int	 log_level_parse(const char *);		/* -1 if unknown */
const char *log_level_name(int);

/*
 * log_event(LOG_INFO, "pingback.accepted", "id", id, "source", src, NULL):
 * a structured line with the event name and key/value string pairs.
 * A NULL value skips its key.  Values made only of digits are numbers
 * in JSON.
 */
void	 log_event(int prio, const char *event, ...)
	    __attribute__((sentinel));
void	 log_eventv(int prio, const char *event, va_list);

/* Free-text lines (event=log msg="..."), OpenBSD log.h surface. */
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
