/*
 * The exec sink: each delivery runs [sink.NAME] argv (argv[0] an
 * absolute path, no shell) with the mention's JSON on stdin, stdout on
 * /dev/null, and the first EXEC_STDERR_BYTES of stderr kept for the
 * error string.  The environment is PATH=/usr/bin:/bin and
 * PINGBACKD_ID=<idempotency key>, nothing else.  Exit status 0 means
 * delivered.
 *
 * The event loop never waits: the child is started with posix_spawn in
 * its own process group, stdin is fed through a non-blocking pipe, and
 * the exit is learnt from a pidfd (readable once the child is a zombie)
 * and reaped with waitid(P_PIDFD).  No SIGCHLD handler, no waitpid(-1).
 * After timeout seconds the whole group gets SIGKILL.
 *
 * A child is RUNNING (on ex->running) until reaped, then FINISHED (on
 * ex->finished) until the drain event calls done and frees it; as in
 * fetch.c, done never runs from inside deliver.  sink_exec_child_free is
 * the only place a child is freed; it kills and reaps one still running.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

#define EXEC_DEFAULT_TIMEOUT_S	30
#define EXEC_STDERR_BYTES	1024	/* kept for the error string */
#define EXEC_DRAIN_BYTES	65536	/* read from stderr after the exit */
#define EXEC_ENV_PATH		"PATH=/usr/bin:/bin"

struct exec;

struct exec_child {
	struct exec		*ex;
	TAILQ_ENTRY(exec_child)	 entry;
	int			 finished;	/* on ex->finished */
	char			*key;
	sink_done_cb		 done;
	void			*arg;

	pid_t			 pid;		/* -1 once reaped */
	int			 pidfd;
	int			 infd;		/* our end of its stdin */
	int			 errfd;		/* our end of its stderr */
	struct event		*ev_pid;
	struct event		*ev_in;
	struct event		*ev_err;
	struct event		*ev_timer;
	int			 timed_out;

	char			*buf;		/* the JSON, for stdin */
	size_t			 len;
	size_t			 off;
	char			 err[EXEC_STDERR_BYTES + 1];
	size_t			 errlen;

	int			 ok;
	char			 error[EXEC_STDERR_BYTES + 64];
};

TAILQ_HEAD(exec_list, exec_child);

/* A sink's priv. */
struct exec {
	struct sink		*sink;
	struct event_base	*base;
	char			*name;
	char			**argv;		/* NULL-terminated copy */
	long			 timeout;	/* s */
	long			 concurrency;	/* 0: no cap */
	struct exec_list	 running;
	struct exec_list	 finished;
	size_t			 nchildren;	/* on either list */
	struct event		*drain;		/* calls done for finished */
	int			 busy;		/* inside sink_exec_drain */
	int			 dead;		/* closed while busy */
};

static void
sink_exec_close_fd(int *fd)
{
	if (*fd != -1) {
		(void)close(*fd);
		*fd = -1;
	}
}

/* Move fd above 2, so the child's dup2 onto 0-2 cannot clobber it. */
static int
sink_exec_fd_high(int fd)
{
	int	 nfd;

	if (fd > 2)
		return (fd);
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	(void)close(fd);
	return (nfd);
}

static const char *
sink_exec_errno_name(int e)
{
	const char	*s;

	return ((s = strerrorname_np(e)) != NULL ? s : "unknown error");
}

/*
 * Kill and reap a child still running: SIGKILL to its group (and to it,
 * should it have left the group), then waitid.  Blocking only if the
 * WNOHANG try comes too early, and then only for as long as the kernel
 * takes to finish a SIGKILL.
 */
static void
sink_exec_kill_reap(struct exec_child *c)
{
	siginfo_t	 si;
	int		 rc;

	if (c->pid <= 0)
		return;
	(void)kill(-c->pid, SIGKILL);
	(void)kill(c->pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	if (c->pidfd != -1) {
		rc = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
		    WEXITED | WNOHANG);
		while ((rc == 0 && si.si_pid == 0) ||
		    (rc == -1 && errno == EINTR))
			rc = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
			    WEXITED);
	} else
		while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
			;
	c->pid = -1;
}

/* Free a child in any state without calling back. */
static void
sink_exec_child_free(struct exec_child *c)
{
	struct exec	*ex = c->ex;

	if (c->finished)
		TAILQ_REMOVE(&ex->finished, c, entry);
	else
		TAILQ_REMOVE(&ex->running, c, entry);
	ex->nchildren--;
	sink_exec_kill_reap(c);
	if (c->ev_pid != NULL)
		event_free(c->ev_pid);
	if (c->ev_in != NULL)
		event_free(c->ev_in);
	if (c->ev_err != NULL)
		event_free(c->ev_err);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	sink_exec_close_fd(&c->pidfd);
	sink_exec_close_fd(&c->infd);
	sink_exec_close_fd(&c->errfd);
	free(c->buf);
	free(c->key);
	free(c);
}

/* Stop feeding stdin: the child sees EOF (or has gone). */
static void
sink_exec_stdin_end(struct exec_child *c)
{
	if (c->ev_in != NULL)
		event_del(c->ev_in);
	sink_exec_close_fd(&c->infd);
}

/* Stop reading stderr. */
static void
sink_exec_stderr_end(struct exec_child *c)
{
	if (c->ev_err != NULL)
		event_del(c->ev_err);
	sink_exec_close_fd(&c->errfd);
}

/*
 * Read what stderr has now, keeping the first EXEC_STDERR_BYTES, at most
 * max bytes in all.  Return 1 at EOF or on an error, else 0.
 */
static int
sink_exec_stderr_read(struct exec_child *c, size_t max)
{
	char	 tmp[4096];
	ssize_t	 n;
	size_t	 total = 0, room;

	while (total < max) {
		n = read(c->errfd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n <= 0)
			return (1);
		total += (size_t)n;
		room = EXEC_STDERR_BYTES - c->errlen;
		if (room > (size_t)n)
			room = (size_t)n;
		memcpy(c->err + c->errlen, tmp, room);
		c->errlen += room;
	}
	return (0);
}

static void
sink_exec_stderr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_child	*c = arg;

	(void)fd;
	(void)what;
	if (sink_exec_stderr_read(c, EXEC_DRAIN_BYTES))
		sink_exec_stderr_end(c);
}

/* Feed stdin; a child that exits without reading gives EPIPE, no harm. */
static void
sink_exec_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_child	*c = arg;
	ssize_t			 n;

	(void)fd;
	(void)what;
	while (c->off < c->len) {
		n = write(c->infd, c->buf + c->off, c->len - c->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;		/* EPIPE and the like */
		c->off += (size_t)n;
	}
	sink_exec_stdin_end(c);
}

/* Put stderr's text, on one line, after the error. */
static void
sink_exec_append_stderr(struct exec_child *c)
{
	size_t	 i, n = c->errlen;
	char	*p;

	for (i = 0; i < n; i++)
		if ((unsigned char)c->err[i] < 0x20 || c->err[i] == 0x7f)
			c->err[i] = ' ';
	while (n > 0 && c->err[n - 1] == ' ')
		n--;
	for (i = 0; i < n && c->err[i] == ' '; i++)
		;
	if (i == n)
		return;
	c->err[n] = '\0';
	p = c->error + strlen(c->error);
	(void)snprintf(p, sizeof(c->error) - (size_t)(p - c->error), ": %s",
	    c->err + i);
}

/* The child is reaped (or never ran): queue its done for the drain. */
static void
sink_exec_finish(struct exec_child *c)
{
	struct exec	*ex = c->ex;

	if (c->ev_pid != NULL)
		event_del(c->ev_pid);
	if (c->ev_timer != NULL)
		evtimer_del(c->ev_timer);
	sink_exec_stdin_end(c);
	sink_exec_stderr_end(c);
	TAILQ_REMOVE(&ex->running, c, entry);
	TAILQ_INSERT_TAIL(&ex->finished, c, entry);
	c->finished = 1;
	log_event(LOG_DEBUG, "sink.exec.done", "sink", ex->name, "key", c->key,
	    "error", c->ok ? NULL : c->error, NULL);
	event_active(ex->drain, EV_TIMEOUT, 0);
}

/* The pidfd is readable: the child has exited; reap it. */
static void
sink_exec_pid_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_child	*c = arg;
	siginfo_t		 si;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
	    WEXITED | WNOHANG) == -1) {
		if (errno == EINTR)
			return;
		/* ECHILD: someone else reaped it (SIGCHLD ignored?). */
		(void)snprintf(c->error, sizeof(c->error), "wait: %s",
		    sink_exec_errno_name(errno));
		c->pid = -1;
		sink_exec_finish(c);
		return;
	}
	if (si.si_pid == 0)
		return;		/* not yet */
	c->pid = -1;
	/* What it wrote before it exited is in the pipe now. */
	if (c->errfd != -1)
		(void)sink_exec_stderr_read(c, EXEC_DRAIN_BYTES);
	if (c->timed_out)
		(void)snprintf(c->error, sizeof(c->error), "timeout");
	else if (si.si_code == CLD_EXITED && si.si_status == 0)
		c->ok = 1;
	else {
		if (si.si_code == CLD_EXITED)
			(void)snprintf(c->error, sizeof(c->error), "exit %d",
			    si.si_status);
		else
			(void)snprintf(c->error, sizeof(c->error),
			    "killed by signal %d", si.si_status);
		sink_exec_append_stderr(c);
	}
	sink_exec_finish(c);
}

/* Out of time: kill the group, then wait for the pidfd as usual. */
static void
sink_exec_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_child	*c = arg;
	siginfo_t		 si;

	(void)fd;
	(void)what;
	memset(&si, 0, sizeof(si));
	/* Exited just now, not yet seen: that is no timeout. */
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
	    WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
		return;
	c->timed_out = 1;
	(void)kill(-c->pid, SIGKILL);
	(void)kill(c->pid, SIGKILL);
}

/*
 * Call done for the children finished now, oldest first.  A done may
 * deliver again or close the sink.
 */
static void
sink_exec_drain(struct exec *ex)
{
	struct exec_child	*c;
	struct sink		*sink = ex->sink;
	sink_done_cb		 done;
	void			*arg;
	char			 error[sizeof(c->error)];
	size_t			 n = 0;
	int			 ok;

	TAILQ_FOREACH(c, &ex->finished, entry)
		n++;
	ex->busy++;
	while (n-- > 0 && !ex->dead &&
	    (c = TAILQ_FIRST(&ex->finished)) != NULL) {
		done = c->done;
		arg = c->arg;
		ok = c->ok;
		(void)snprintf(error, sizeof(error), "%s", c->error);
		sink_exec_child_free(c);
		done(sink, ok, ok ? NULL : error, arg);
	}
	if (--ex->busy > 0)
		return;
	if (ex->dead) {
		event_free(ex->drain);
		free(ex);
	} else if (!TAILQ_EMPTY(&ex->finished))
		event_active(ex->drain, EV_TIMEOUT, 0);
}

static void
sink_exec_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sink_exec_drain(arg);
}

/* Set up the child's fds and attributes and spawn it.  0 or an errno. */
static int
sink_exec_spawn(struct exec_child *c, char **envp)
{
	struct exec			*ex = c->ex;
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, all;
	int				 in[2] = { -1, -1 };
	int				 err[2] = { -1, -1 };
	int				 rc;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1)
		goto fail_errno;
	if ((in[0] = sink_exec_fd_high(in[0])) == -1 ||
	    (in[1] = sink_exec_fd_high(in[1])) == -1 ||
	    (err[0] = sink_exec_fd_high(err[0])) == -1 ||
	    (err[1] = sink_exec_fd_high(err[1])) == -1)
		goto fail_errno;
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(err[0], F_SETFL, O_NONBLOCK) == -1)
		goto fail_errno;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail;
	}
	/* dup2 clears FD_CLOEXEC on 0-2; everything else is closed. */
	rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
		    O_WRONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
#ifdef __GLIBC__
#if __GLIBC_PREREQ(2, 34)
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
#endif
	/* Its own process group; default signal dispositions, none blocked. */
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
		    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc == 0)
		rc = posix_spawn(&c->pid, ex->argv[0], &fa, &attr, ex->argv,
		    envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		c->pid = -1;
		goto fail;
	}
	sink_exec_close_fd(&in[0]);
	sink_exec_close_fd(&err[1]);
	c->infd = in[1];
	c->errfd = err[0];
	return (0);

fail_errno:
	rc = errno;
fail:
	sink_exec_close_fd(&in[0]);
	sink_exec_close_fd(&in[1]);
	sink_exec_close_fd(&err[0]);
	sink_exec_close_fd(&err[1]);
	return (rc);
}

/* Watch a spawned child: its pidfd, stdin, stderr and timer.  0 or errno. */
static int
sink_exec_watch(struct exec_child *c)
{
	struct exec	*ex = c->ex;
	struct timeval	 tv;

	if ((c->pidfd = pidfd_open(c->pid, 0)) == -1)
		return (errno);
	if ((c->ev_pid = event_new(ex->base, c->pidfd, EV_READ | EV_PERSIST,
	    sink_exec_pid_cb, c)) == NULL ||
	    (c->ev_err = event_new(ex->base, c->errfd, EV_READ | EV_PERSIST,
	    sink_exec_stderr_cb, c)) == NULL ||
	    (c->ev_in = event_new(ex->base, c->infd, EV_WRITE | EV_PERSIST,
	    sink_exec_stdin_cb, c)) == NULL ||
	    (c->ev_timer = evtimer_new(ex->base, sink_exec_timer_cb, c)) ==
	    NULL)
		fatalx("%s: event_new", __func__);
	tv.tv_sec = ex->timeout;
	tv.tv_usec = 0;
	if (event_add(c->ev_pid, NULL) == -1 ||
	    event_add(c->ev_err, NULL) == -1 ||
	    event_add(c->ev_timer, &tv) == -1)
		return (EIO);
	if (c->len == 0)
		sink_exec_stdin_end(c);
	else if (event_add(c->ev_in, NULL) == -1)
		return (EIO);
	return (0);
}

/* Copy what we need from sink->conf: a reload may replace it. */
static int
sink_exec_open(struct sink *sink, char **cause)
{
	const struct sink_conf	*conf = sink->conf;
	struct exec		*ex;
	size_t			 i;

	if (sink->priv != NULL) {
		xasprintf(cause, "exec: already open");
		return (-1);
	}
	if (conf == NULL || conf->argc == 0 || conf->argv == NULL ||
	    conf->argv[0] == NULL || conf->argv[0][0] != '/') {
		xasprintf(cause, "exec: the program must be an absolute path");
		return (-1);
	}
	if (sink->base == NULL) {
		xasprintf(cause, "exec: no event base");
		return (-1);
	}
	for (i = 0; i < conf->argc; i++)
		if (conf->argv[i] == NULL) {
			xasprintf(cause, "exec: argument %zu missing", i);
			return (-1);
		}
	ex = xcalloc(1, sizeof(*ex));
	ex->sink = sink;
	ex->base = sink->base;
	ex->name = xstrdup(conf->name != NULL ? conf->name : "exec");
	ex->argv = xreallocarray(NULL, conf->argc + 1, sizeof(*ex->argv));
	for (i = 0; i < conf->argc; i++)
		ex->argv[i] = xstrdup(conf->argv[i]);
	ex->argv[conf->argc] = NULL;
	ex->timeout = conf->timeout > 0 ? conf->timeout :
	    EXEC_DEFAULT_TIMEOUT_S;
	ex->concurrency = conf->concurrency > 0 ? conf->concurrency : 0;
	TAILQ_INIT(&ex->running);
	TAILQ_INIT(&ex->finished);
	if ((ex->drain = event_new(ex->base, -1, 0, sink_exec_drain_cb, ex)) ==
	    NULL)
		fatalx("%s: event_new", __func__);
	/* Not fatal: it may be installed later; each try says why not. */
	if (access(ex->argv[0], X_OK) == -1)
		log_event(LOG_WARNING, "sink.exec.program", "sink", ex->name,
		    "program", ex->argv[0], "error", strerror(errno), NULL);
	sink->priv = ex;
	return (0);
}

/*
 * Run the program for item.  A spawn that fails is still a delivery
 * that started: done reports "spawn: ENOENT" (say) from the loop.  -1
 * only at the concurrency cap.
 */
static int
sink_exec_deliver(struct sink *sink, const struct sink_item *item,
    sink_done_cb done, void *arg)
{
	struct exec		*ex = sink->priv;
	struct exec_child	*c;
	char			*envp[3], pid[32];
	int			 rc;

	if (ex == NULL || ex->dead || done == NULL || item->key == NULL)
		return (-1);
	if (ex->concurrency > 0 && ex->nchildren >= (size_t)ex->concurrency)
		return (-1);
	c = xcalloc(1, sizeof(*c));
	c->ex = ex;
	c->key = xstrdup(item->key);
	c->done = done;
	c->arg = arg;
	c->pid = -1;
	c->pidfd = c->infd = c->errfd = -1;
	if (item->json != NULL && item->len > 0) {
		c->buf = xmalloc(item->len);
		memcpy(c->buf, item->json, item->len);
		c->len = item->len;
	}
	TAILQ_INSERT_TAIL(&ex->running, c, entry);
	ex->nchildren++;

	envp[0] = xstrdup(EXEC_ENV_PATH);
	xasprintf(&envp[1], "PINGBACKD_ID=%s", item->key);
	envp[2] = NULL;
	rc = sink_exec_spawn(c, envp);
	free(envp[0]);
	free(envp[1]);
	if (rc == 0 && (rc = sink_exec_watch(c)) != 0)
		sink_exec_kill_reap(c);
	if (rc != 0) {
		(void)snprintf(c->error, sizeof(c->error), "spawn: %s",
		    sink_exec_errno_name(rc));
		sink_exec_finish(c);
		return (0);
	}
	(void)snprintf(pid, sizeof(pid), "%ld", (long)c->pid);
	log_event(LOG_DEBUG, "sink.exec.spawn", "sink", ex->name,
	    "key", c->key, "pid", pid, NULL);
	return (0);
}

/* Kill and reap every child, no callbacks; free priv. */
static void
sink_exec_close(struct sink *sink)
{
	struct exec	*ex = sink->priv;
	size_t		 i;

	if (ex == NULL)
		return;
	sink->priv = NULL;
	while (!TAILQ_EMPTY(&ex->running))
		sink_exec_child_free(TAILQ_FIRST(&ex->running));
	while (!TAILQ_EMPTY(&ex->finished))
		sink_exec_child_free(TAILQ_FIRST(&ex->finished));
	for (i = 0; ex->argv[i] != NULL; i++)
		free(ex->argv[i]);
	free(ex->argv);
	free(ex->name);
	ex->argv = NULL;
	ex->name = NULL;
	if (ex->busy > 0) {
		ex->dead = 1;	/* sink_exec_drain frees ex as it unwinds */
		return;
	}
	event_free(ex->drain);
	free(ex);
}

const struct sink_ops sink_exec_ops = {
	.type = "exec",
	.open = sink_exec_open,
	.deliver = sink_exec_deliver,
	.close = sink_exec_close,
};
