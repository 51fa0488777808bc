/*
 * The configuration parser's insides, shared by config.c (the file,
 * the fixed sections) and config_sink.c (the [sink.NAME] sections).
 * Nothing else includes this file.
 */
#ifndef PBD_CONFIG_INT_H
#define PBD_CONFIG_INT_H

#include <stddef.h>
#include <stdio.h>

struct conf_parse;
struct conf_key;
typedef void	(*conf_set_cb)(struct conf_parse *, const struct conf_key *,
		    const char *);

/* Which [sink.NAME] a key belongs to (conf_key.sink). */
#define CONF_SINK_NONE		0	/* a key of a fixed section */
#define CONF_SINK_ANY		1	/* of every sink type */
#define CONF_SINK_WEBHOOK	2
#define CONF_SINK_EXEC		3

struct conf_key {
	const char	*section;
	const char	*name;
	conf_set_cb	 set;
	int		 list;		/* may repeat and continue on lines */
	int		 size;		/* numbers: size_t, not long */
	long long	 min;
	long long	 max;
	size_t		 off;		/* in struct conf, or sink_conf */
	int		 sink;		/* CONF_SINK_* */
};

struct conf_err {
	int		 line;		/* 0: about the whole file */
	char		*text;
};

/* What config_sink.c remembers of one [sink.NAME] while parsing. */
struct conf_sink_state {
	int		 line;		/* of the section header */
	int		 type;		/* CONF_SINK_WEBHOOK, _EXEC or 0 */
	int		 type_given;
	int		 lines[16];	/* of each key (conf_sink_keys) */
};

/* Parser state, shared by the line reader and the inih handler. */
struct conf_parse {
	struct conf	*conf;
	const char	*file;
	FILE		*fp;
	char		*buf;		/* getline's */
	size_t		 bufsz;
	int		 lineno;
	int		 read_errno;

	/* What inih is about to do with the current line. */
	int		 continuation;	/* indented: continues prev. value */
	int		 has_prev;	/* inih's prev_name is set */
	int		 skip;		/* bad or unknown section: no keys */
	int		 prev_ignored;	/* previous key was unknown */
	int		 listen_set;	/* drop the default listen */

	/* The [sink.NAME] being read: an index in conf->sinks, or -1. */
	long		 cursink;
	char		 sink_section[48];	/* "sink.NAME" */
	struct conf_sink_state *sinkst;		/* one per conf->sinks */

	struct conf_err	*errs;
	size_t		 nerrs;
};

/* config.c */
void		 conf_error(struct conf_parse *, int line, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 conf_bad(struct conf_parse *, const struct conf_key *,
		    const char *value, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
void		 conf_bad_line(struct conf_parse *, int line,
		    const struct conf_key *, const char *value, const char *,
		    ...) __attribute__((format(printf, 5, 6)));
const char	*conf_vis(char *, size_t, const char *);
int		 conf_has_cntrl(const char *);
void		 conf_set_num(struct conf_parse *, const struct conf_key *,
		    const char *);
char		*conf_url(struct conf_parse *, const struct conf_key *,
		    const char *);

/* config_sink.c */
/*
 * A section header [name] (len bytes): -1 if not a sink section, 0 if
 * a bad one (error recorded), 1 if a new sink is being read.
 */
int		 conf_sink_section(struct conf_parse *, const char *name,
		    size_t len);
/* The key name of the current sink, or NULL. */
const struct conf_key *conf_sink_key(const char *name);
/* May k be set in the current sink?  0 if not (error recorded). */
int		 conf_sink_allowed(struct conf_parse *,
		    const struct conf_key *);
/* The field of k in the current sink. */
char		*conf_sink_field(struct conf_parse *, const struct conf_key *);
/* After the file: what a sink lacks, and cross-key rules. */
void		 conf_sink_finish(struct conf_parse *);

#endif
