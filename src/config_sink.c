/*
 * The [sink.NAME] sections of the configuration file: one struct
 * sink_conf each (sink.h), checked as far as a file can be checked: a
 * webhook's url is an absolute http(s) URL, an exec sink's program is
 * an absolute path to an executable file.  A key of the other type is
 * an error, reported at its line whatever the order of the keys; what
 * a sink lacks is reported at its section header, after the file.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

#define CONF_SINK_NAME_MAX	32	/* bytes of NAME in [sink.NAME] */
#define CONF_SINK_SECRET_MAX	256	/* bytes of an HMAC key */

static void	conf_sink_set_type(struct conf_parse *, const struct conf_key *,
		    const char *);
static void	conf_sink_set_url(struct conf_parse *, const struct conf_key *,
		    const char *);
static void	conf_sink_set_secret(struct conf_parse *,
		    const struct conf_key *, const char *);
static void	conf_sink_set_command(struct conf_parse *,
		    const struct conf_key *, const char *);

#define SINK_NUM(n, lo, hi, field) \
	{ "sink", n, conf_set_num, 0, 0, lo, hi, \
	    offsetof(struct sink_conf, field), CONF_SINK_ANY }
#define SINK_FN(n, fn, type, field) \
	{ "sink", n, fn, 0, 0, 0, 0, offsetof(struct sink_conf, field), type }

/* Keep in step with conf_sink_state.lines[] (at most 16). */
static const struct conf_key conf_sink_keys[] = {
	SINK_FN("type", conf_sink_set_type, CONF_SINK_ANY, type),
	SINK_NUM("max_age", 60, 2592000, max_age),
	SINK_NUM("retry_base", 1, 3600, retry_base),
	SINK_NUM("retry_max", 1, 86400, retry_max),
	SINK_NUM("concurrency", 1, 256, concurrency),
	SINK_NUM("timeout", 1, 300, timeout),
	SINK_FN("url", conf_sink_set_url, CONF_SINK_WEBHOOK, url),
	SINK_FN("secret", conf_sink_set_secret, CONF_SINK_WEBHOOK, secret),
	SINK_FN("command", conf_sink_set_command, CONF_SINK_EXEC, argv),
};
#define CONF_SINK_NKEYS	(sizeof(conf_sink_keys) / sizeof(conf_sink_keys[0]))
#define CONF_SINK_KEY(name)	(&conf_sink_keys[conf_sink_index(name)])

static const char *
conf_sink_type_name(int type)
{
	return (type == CONF_SINK_WEBHOOK ? "webhook" : "exec");
}

static size_t
conf_sink_index(const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_SINK_NKEYS; i++)
		if (strcmp(conf_sink_keys[i].name, name) == 0)
			break;
	return (i);
}

/* Make sink i the current one, for conf_bad's "[sink.NAME]". */
static void
conf_sink_select(struct conf_parse *p, size_t i)
{
	p->cursink = (long)i;
	snprintf(p->sink_section, sizeof(p->sink_section), "sink.%s",
	    p->conf->sinks[i].name);
}

int
conf_sink_section(struct conf_parse *p, const char *name, size_t len)
{
	struct conf		*c = p->conf;
	struct sink_conf	*sc;
	char			 vis[64];
	size_t			 i;

	if (len == 4 && strncmp(name, "sink", 4) == 0) {
		conf_error(p, p->lineno, "[sink] needs a name, as in "
		    "[sink.NAME]");
		return (0);
	}
	if (len < 5 || strncmp(name, "sink.", 5) != 0)
		return (-1);
	name += 5;
	len -= 5;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			break;
	if (len == 0 || len > CONF_SINK_NAME_MAX || i < len) {
		snprintf(vis, sizeof(vis), "%.*s", (int)(len < 40 ? len : 40),
		    name);
		conf_error(p, p->lineno, "[sink.%s]: a sink name is 1 to %d "
		    "letters, digits, '_' or '-'",
		    conf_vis(vis, sizeof(vis), vis), CONF_SINK_NAME_MAX);
		return (0);
	}
	for (i = 0; i < c->nsinks; i++) {
		if (strlen(c->sinks[i].name) == len &&
		    strncmp(c->sinks[i].name, name, len) == 0) {
			conf_error(p, p->lineno, "[sink.%s] is given twice "
			    "(first at line %d)", c->sinks[i].name,
			    p->sinkst[i].line);
			return (0);
		}
	}
	c->sinks = xreallocarray(c->sinks, c->nsinks + 1, sizeof(*c->sinks));
	p->sinkst = xreallocarray(p->sinkst, c->nsinks + 1,
	    sizeof(*p->sinkst));
	memset(&p->sinkst[c->nsinks], 0, sizeof(*p->sinkst));
	p->sinkst[c->nsinks].line = p->lineno;
	sc = &c->sinks[c->nsinks];
	memset(sc, 0, sizeof(*sc));
	sc->name = xstrndup(name, len);
	sc->max_age = 86400;
	sc->retry_base = 5;
	sc->retry_max = 3600;
	sc->concurrency = 4;
	sc->timeout = 10;
	conf_sink_select(p, c->nsinks++);
	return (1);
}

const struct conf_key *
conf_sink_key(const char *name)
{
	size_t	 i = conf_sink_index(name);

	return (i < CONF_SINK_NKEYS ? &conf_sink_keys[i] : NULL);
}

char *
conf_sink_field(struct conf_parse *p, const struct conf_key *k)
{
	return ((char *)&p->conf->sinks[p->cursink] + k->off);
}

int
conf_sink_allowed(struct conf_parse *p, const struct conf_key *k)
{
	struct conf_sink_state	*st = &p->sinkst[p->cursink];

	if (k->sink != CONF_SINK_ANY && st->type != 0 && st->type != k->sink) {
		conf_bad(p, k, NULL, "not a key of %s %s sink",
		    st->type == CONF_SINK_EXEC ? "an" : "a",
		    conf_sink_type_name(st->type));
		return (0);
	}
	st->lines[k - conf_sink_keys] = p->lineno;
	return (1);
}

/* type: known now, so report the keys of the other type given before. */
static void
conf_sink_set_type(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	struct sink_conf	*sc = &p->conf->sinks[p->cursink];
	struct conf_sink_state	*st = &p->sinkst[p->cursink];
	size_t			 i;

	st->type_given = 1;
	st->type = 0;
	if (strcmp(v, "webhook") == 0)
		st->type = CONF_SINK_WEBHOOK;
	else if (strcmp(v, "exec") == 0)
		st->type = CONF_SINK_EXEC;
	else {
		conf_bad(p, k, v, "is not webhook or exec");
		return;
	}
	free(sc->type);
	sc->type = xstrdup(v);
	for (i = 0; i < CONF_SINK_NKEYS; i++) {
		k = &conf_sink_keys[i];
		if (st->lines[i] == 0 || k->sink == CONF_SINK_ANY ||
		    k->sink == st->type)
			continue;
		conf_bad_line(p, st->lines[i], k, NULL, "not a key of %s %s "
		    "sink", st->type == CONF_SINK_EXEC ? "an" : "a", v);
		st->lines[i] = 0;
	}
}

static void
conf_sink_set_url(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	struct sink_conf	*sc = &p->conf->sinks[p->cursink];
	char			*norm;

	if (*v == '\0') {
		conf_bad(p, k, NULL, "empty value (expected an http or https "
		    "URL)");
		return;
	}
	if (strlen(v) > PBD_MAX_URL_BYTES) {
		conf_bad(p, k, NULL, "the URL is too long");
		return;
	}
	if (strpbrk(v, " \t") != NULL || conf_has_cntrl(v)) {
		conf_bad(p, k, v, "must have no spaces or control characters");
		return;
	}
	if ((norm = conf_url(p, k, v)) == NULL)
		return;
	free(norm);
	free(sc->url);
	sc->url = xstrdup(v);
}

/* The secret is never quoted in an error: errors reach the logs. */
static void
conf_sink_set_secret(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	struct sink_conf	*sc = &p->conf->sinks[p->cursink];

	if (*v == '\0')
		conf_bad(p, k, NULL, "empty value (leave the key out for "
		    "unsigned requests)");
	else if (strlen(v) > CONF_SINK_SECRET_MAX)
		conf_bad(p, k, NULL, "the value is too long (at most %d bytes)",
		    CONF_SINK_SECRET_MAX);
	else if (conf_has_cntrl(v))
		conf_bad(p, k, NULL, "the value has control characters");
	else {
		free(sc->secret);
		sc->secret = xstrdup(v);
	}
}

static void
conf_sink_free_argv(struct sink_conf *sc)
{
	size_t	 i;

	for (i = 0; i < sc->argc; i++)
		free(sc->argv[i]);
	free(sc->argv);
	sc->argv = NULL;
	sc->argc = 0;
}

/*
 * command: words split on spaces and tabs, with no shell and no
 * quoting; the first is an absolute path to an executable file.
 */
static void
conf_sink_set_command(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	struct sink_conf	*sc = &p->conf->sinks[p->cursink];
	struct stat		 sb;
	char			*copy, *word, *last, **argv = NULL;
	size_t			 argc = 0, i;

	for (i = 0; v[i] != '\0'; i++)
		if (iscntrl((unsigned char)v[i]) && v[i] != '\t')
			break;
	if (v[i] != '\0') {
		conf_bad(p, k, NULL, "the value has control characters");
		return;
	}
	copy = xstrdup(v);
	for (word = strtok_r(copy, " \t", &last); word != NULL;
	    word = strtok_r(NULL, " \t", &last)) {
		argv = xreallocarray(argv, argc + 2, sizeof(*argv));
		argv[argc++] = xstrdup(word);
		argv[argc] = NULL;
	}
	free(copy);
	if (argc == 0) {
		conf_bad(p, k, NULL, "empty value (expected /path/to/program "
		    "[argument ...])");
		return;
	}
	if (argv[0][0] != '/')
		conf_bad(p, k, argv[0], "is not an absolute path");
	else if (stat(argv[0], &sb) == -1 || access(argv[0], X_OK) == -1)
		conf_bad(p, k, argv[0], "cannot be run: %s", strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		conf_bad(p, k, argv[0], "is not a regular file");
	else {
		conf_sink_free_argv(sc);
		sc->argv = argv;
		sc->argc = argc;
		return;
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

void
conf_sink_finish(struct conf_parse *p)
{
	struct conf_sink_state	*st;
	struct sink_conf	*sc;
	const struct conf_key	*kb = CONF_SINK_KEY("retry_base");
	const struct conf_key	*km = CONF_SINK_KEY("retry_max");
	char			 v[32];
	size_t			 i;
	int			 lb, lm;

	for (i = 0; i < p->conf->nsinks; i++) {
		conf_sink_select(p, i);
		sc = &p->conf->sinks[i];
		st = &p->sinkst[i];
		if (!st->type_given)
			conf_error(p, st->line, "[sink.%s] type is required "
			    "(webhook or exec)", sc->name);
		else if (st->type == CONF_SINK_WEBHOOK && sc->url == NULL &&
		    st->lines[conf_sink_index("url")] == 0)
			conf_error(p, st->line, "[sink.%s] url is required for "
			    "a webhook sink", sc->name);
		else if (st->type == CONF_SINK_EXEC && sc->argv == NULL &&
		    st->lines[conf_sink_index("command")] == 0)
			conf_error(p, st->line, "[sink.%s] command is required "
			    "for an exec sink", sc->name);
		if (sc->retry_max >= sc->retry_base)
			continue;
		lb = st->lines[kb - conf_sink_keys];
		lm = st->lines[km - conf_sink_keys];
		if (lm >= lb) {
			snprintf(v, sizeof(v), "%ld", sc->retry_max);
			conf_bad_line(p, lm != 0 ? lm : st->line, km, v,
			    "is less than retry_base (%ld)", sc->retry_base);
		} else {
			snprintf(v, sizeof(v), "%ld", sc->retry_base);
			conf_bad_line(p, lb, kb, v, "is more than retry_max "
			    "(%ld)", sc->retry_max);
		}
	}
	p->cursink = -1;
}

void
conf_sink_copy(struct sink_conf *dst, const struct sink_conf *src)
{
	size_t	 i;

	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->type = src->type != NULL ? xstrdup(src->type) : NULL;
	dst->url = src->url != NULL ? xstrdup(src->url) : NULL;
	dst->secret = src->secret != NULL ? xstrdup(src->secret) : NULL;
	dst->argv = NULL;
	if (src->argv != NULL) {
		dst->argv = xreallocarray(NULL, src->argc + 1,
		    sizeof(*dst->argv));
		for (i = 0; i < src->argc; i++)
			dst->argv[i] = xstrdup(src->argv[i]);
		dst->argv[src->argc] = NULL;
	}
}

/* Two strings, either may be NULL. */
static int
conf_sink_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

int
conf_sink_equal(const struct sink_conf *a, const struct sink_conf *b)
{
	size_t	 i;

	if (!conf_sink_streq(a->name, b->name) ||
	    !conf_sink_streq(a->type, b->type) ||
	    a->max_age != b->max_age || a->retry_base != b->retry_base ||
	    a->retry_max != b->retry_max ||
	    a->concurrency != b->concurrency || a->timeout != b->timeout ||
	    !conf_sink_streq(a->url, b->url) ||
	    !conf_sink_streq(a->secret, b->secret) || a->argc != b->argc)
		return (0);
	for (i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return (0);
	return (1);
}

void
conf_sink_clear(struct sink_conf *sc)
{
	if (sc == NULL)
		return;
	free(sc->name);
	free(sc->type);
	free(sc->url);
	free(sc->secret);
	conf_sink_free_argv(sc);
	memset(sc, 0, sizeof(*sc));
}
