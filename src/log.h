/*
 * Logging: one line per event, logfmt (key=value) or JSON, to stderr.
 * Under systemd (JOURNAL_STREAM set) each line carries an sd-daemon
 * "<N>" priority prefix so journald files it at the right level.
 * Every value is escaped: callers may pass untrusted strings.
 */
#ifndef PBD_LOG_H
#define PBD_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

enum log_format {
	LOG_FORMAT_LOGFMT,
	LOG_FORMAT_JSON
};

void	 log_init(int level, enum log_format format);
void	 log_setlevel(int level);
void	 log_setformat(enum log_format format);
void	 log_setstream(FILE *);		/* tests: capture output */
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
