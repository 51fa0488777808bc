/*
 * Unit tests for the exec sink with the scripts in tests/data/sink/
 * (PBD_TESTDATA, else found next to this file): the JSON on stdin, the
 * environment, exit statuses, signals, the timeout and its group kill,
 * EPIPE, spawn failures, many at once, close with children running.
 * Every test ends with no child left (zombie or not) and as many open
 * descriptors as it began with.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <check.h>

#include "pbd.h"
#include "loop.h"
#include "sink.h"

int	main(void);

#define JSON	"{\"kind\":\"pingback\",\"source\":\"https://a.example/p\"," \
		"\"target\":\"https://blog.example/post\",\"title\":" \
		"\"Caf\xc3\xa9\",\"excerpt\":\"a\\nb\",\"received_at\":" \
		"\"2024-05-01T12:00:00Z\",\"id\":\"k-1\"}\n"

/* What one done callback saw. */
struct got {
	int		 n;
	int		 ok;
	char		 error[2048];
	struct sink	*sink;		/* NULL: the global one */
	int		 close_sink;	/* close the sink from done */
	int		 again;		/* deliver once more from done */
};

static struct event_base	*base;
static struct sink_conf		 conf;
static struct sink		 sink;
static char			*argv[4];
static char			 datadir[1024];
static char			 tmpdir[1024];
static struct got		 G[64];
static int			 ng, ndone, want, nfd0;
static char			 s_name[] = "ex", s_type[] = "exec";
static char			 s_noent[] = "/nonexistent/pingbackd-sink";

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* 1 if any child of ours exists, zombie or not. */
static int
have_children(void)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return (errno == ECHILD ? 0 : 1);
	return (1);
}

/* 1 if pid is gone or a zombie (killed, not yet reaped by its parent). */
static int
proc_dead(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (1);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return (1);
	return (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* The process group of pid, from /proc (-1 if gone). */
static long
proc_pgrp(pid_t pid)
{
	char	 path[64], buf[512], *p, state;
	long	 ppid, pgrp;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
		return (-1);
	return (pgrp);
}

static void
set_prog(const char *name, int with_out)
{
	static char	 prog[PATH_MAX], out[PATH_MAX];

	snprintf(prog, sizeof(prog), "%s/%s", datadir, name);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	argv[0] = prog;
	argv[1] = with_out ? out : NULL;
	argv[2] = NULL;
	conf.argv = argv;
	conf.argc = with_out ? 2 : 1;
}

static void
setup(void)
{
	const char	*env, *slash;

	if ((env = getenv("PBD_TESTDATA")) != NULL)
		snprintf(datadir, sizeof(datadir), "%s/sink", env);
	else {
		/* tests/unit/t_sink_exec.c -> tests/data/sink */
		slash = strrchr(__FILE__, '/');
		snprintf(datadir, sizeof(datadir), "%.*s/../data/sink",
		    slash != NULL ? (int)(slash - __FILE__) : 1,
		    slash != NULL ? __FILE__ : ".");
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/t_sink_exec.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	memset(G, 0, sizeof(G));
	ng = ndone = want = 0;
	memset(&conf, 0, sizeof(conf));
	conf.name = s_name;
	conf.type = s_type;
	conf.timeout = 10;
	memset(&sink, 0, sizeof(sink));
	sink.ops = &sink_exec_ops;
	sink.conf = &conf;
	sink.base = base;
	set_prog("stdin-to-file", 1);
	nfd0 = count_fds();
}

static void
teardown(void)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	sink_exec_ops.close(&sink);
	event_base_free(base);
	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%.255s", tmpdir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(tmpdir);
}

/* Close the sink and check that nothing is left behind. */
static void
check_clean(void)
{
	sink_exec_ops.close(&sink);
	ck_assert_ptr_null(sink.priv);
	ck_assert_msg(!have_children(), "a child is left");
	ck_assert_int_eq(count_fds(), nfd0);
}

static void
open_sink(void)
{
	char	*cause = NULL;

	ck_assert_msg(sink_exec_ops.open(&sink, &cause) == 0, "open: %s",
	    cause);
	ck_assert_ptr_nonnull(sink.priv);
}

static void	done_cb(struct sink *, int, const char *, void *);

static int
try_deliver(const char *key, const char *json, size_t len, struct got *g)
{
	struct sink_item	 item;

	memset(&item, 0, sizeof(item));
	item.key = key;
	item.json = json;
	item.len = len;
	return (sink_exec_ops.deliver(&sink, &item, done_cb, g));
}

static void
done_cb(struct sink *s, int ok, const char *error, void *arg)
{
	struct got	*g = arg;

	ck_assert_ptr_eq(s, g->sink != NULL ? g->sink : &sink);
	g->n++;
	g->ok = ok;
	if (ok)
		ck_assert_ptr_null(error);
	else
		ck_assert_ptr_nonnull(error);
	snprintf(g->error, sizeof(g->error), "%s", error ? error : "");
	ndone++;
	if (g->close_sink)
		sink_exec_ops.close(s);
	if (g->again) {
		g->again = 0;
		ck_assert_int_eq(try_deliver("again", "{}", 2, g), 0);
	}
	if (ndone >= want)
		event_base_loopbreak(base);
}

/* Run the loop until n callbacks in all, or secs pass. */
static void
run(int n, double secs)
{
	want = n;
	tl_run(base, &ndone, n, secs);
}

static struct got *
start(const char *key, const char *json, size_t len)
{
	struct got	*g;

	ck_assert_int_lt(ng, (int)(sizeof(G) / sizeof(G[0])));
	g = &G[ng++];
	ck_assert_int_eq(try_deliver(key, json, len, g), 0);
	ck_assert_int_eq(g->n, 0);	/* never from inside deliver */
	return (g);
}

static struct got *
deliver(const char *key, const char *json, size_t len)
{
	struct got	*g = start(key, json, len);

	run(ndone + 1, 10);
	ck_assert_msg(g->n == 1, "no callback");
	return (g);
}

/* Read a whole file (NUL-terminated); NULL if missing. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf;
	long	 len;

	if ((fp = fopen(path, "r")) == NULL)
		return (NULL);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

static char *
slurp_out(const char *suffix, size_t *lenp)
{
	char	 path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/out%s", tmpdir, suffix);
	return (slurp(path, lenp));
}

/* Wait (running the loop) until the file out<suffix> exists. */
static char *
wait_out(const char *suffix)
{
	char	*s;
	int	 i;

	for (i = 0; i < 100; i++) {
		if ((s = slurp_out(suffix, NULL)) != NULL)
			return (s);
		run(ndone + 1, 0.05);
	}
	ck_abort_msg("no file out%s", suffix);
	return (NULL);
}

START_TEST(test_ok)
{
	struct got	*g;
	char		*s, *big;
	size_t		 len, i, biglen = 200000;
	unsigned long long blk, ign;

	setenv("PBD_TEST_LEAK", "1", 1);
	open_sink();
	g = deliver("key-42", JSON, strlen(JSON));
	ck_assert_msg(g->ok == 1, "error: %s", g->error);
	ck_assert_str_eq(g->error, "");
	s = slurp_out("", &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(JSON));
	ck_assert_mem_eq(s, JSON, len);
	free(s);
	s = slurp_out(".env", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "PINGBACKD_ID=key-42\n"));
	ck_assert_ptr_nonnull(strstr(s, "PATH=/usr/bin:/bin\n"));
	ck_assert_ptr_null(strstr(s, "PBD_TEST_LEAK"));
	ck_assert_ptr_null(strstr(s, "HOME="));
	free(s);
	/*
	 * Signals: none blocked, none of 1-31 ignored (we ignore SIGPIPE).
	 * glibc's posix_spawn leaves its internal 32 and 33 ignored.
	 */
	s = slurp_out(".sig", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(sscanf(s, "SigBlk: %llx SigIgn: %llx", &blk, &ign),
	    2);
	ck_assert_msg(blk == 0, "blocked: %llx", blk);
	ck_assert_msg((ign & 0x7fffffffULL) == 0, "ignored: %llx", ign);
	free(s);
	/* Larger than a pipe buffer, binary-safe. */
	big = malloc(biglen);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < biglen; i++)
		big[i] = (char)(i * 7 + (i >> 8));
	g = deliver("key-43", big, biglen);
	ck_assert_int_eq(g->ok, 1);
	s = slurp_out("", &len);
	ck_assert_uint_eq(len, biglen);
	ck_assert_mem_eq(s, big, biglen);
	free(s);
	free(big);
	/* Empty stdin. */
	ck_assert_int_eq(deliver("key-44", "", 0)->ok, 1);
	s = slurp_out("", &len);
	ck_assert_uint_eq(len, 0);
	free(s);
	unsetenv("PBD_TEST_LEAK");
	check_clean();
}
END_TEST

START_TEST(test_exit_status)
{
	struct got	*g;

	set_prog("exit3", 0);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "exit 3");
	sink_exec_ops.close(&sink);
	/* stderr comes with the error, on one line. */
	set_prog("fail-stderr", 0);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "exit 2: something broke second line");
	sink_exec_ops.close(&sink);
	set_prog("kill-self", 0);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "killed by signal 9");
	check_clean();
}
END_TEST

START_TEST(test_chatty)
{
	struct got	*g;
	double		 t0 = tl_now();

	/* 1 MB on stdout (/dev/null) and on stderr (1 KiB kept). */
	set_prog("chatty", 0);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_msg(strncmp(g->error, "exit 1: to stderr", 17) == 0, "%s",
	    g->error);
	ck_assert_uint_le(strlen(g->error), 1024 + 16);
	ck_assert_msg(tl_now() - t0 < 5, "took %.1f s", tl_now() - t0);
	check_clean();
}
END_TEST

START_TEST(test_timeout)
{
	struct got	*g;
	char		*s;
	long		 sh, sl;
	double		 t0, dt;
	int		 i;

	conf.timeout = 1;
	set_prog("sleep-group", 1);
	open_sink();
	t0 = tl_now();
	g = start("k", JSON, strlen(JSON));
	s = wait_out("");
	ck_assert_int_eq(sscanf(s, "%ld %ld", &sh, &sl), 2);
	free(s);
	/* Its own process group, which the sleep shares. */
	ck_assert_int_eq(proc_pgrp(sh), sh);
	ck_assert_int_eq(proc_pgrp(sl), sh);
	ck_assert_int_ne(getpgrp(), sh);
	run(ndone + 1, 5);
	dt = tl_now() - t0;
	ck_assert_int_eq(g->n, 1);
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "timeout");
	ck_assert_msg(dt > 0.8 && dt < 3, "took %.2f s", dt);
	/* The whole group was killed, not only the shell. */
	for (i = 0; i < 100 && !proc_dead(sl); i++)
		usleep(20000);
	ck_assert_msg(proc_dead(sl), "sleep %ld survived", sl);
	ck_assert_msg(proc_dead(sh), "shell %ld survived", sh);
	check_clean();
}
END_TEST

START_TEST(test_child_fds)
{
	char		 path[64], link[PATH_MAX], *s;
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	long		 sh, sl;
	int		 leak, nfds = 0;

	/* Not close-on-exec here: must not reach the child anyway. */
	leak = open("/dev/null", O_RDONLY);
	ck_assert_int_gt(leak, 2);
	nfd0++;
	set_prog("sleep-group", 1);
	open_sink();
	start("k", JSON, strlen(JSON));
	s = wait_out("");
	ck_assert_int_eq(sscanf(s, "%ld %ld", &sh, &sl), 2);
	free(s);
	/* The sleep has what the sink gave, nothing more: 0, 1, 2. */
	snprintf(path, sizeof(path), "/proc/%ld/fd", sl);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		nfds++;
		ck_assert_msg(atoi(de->d_name) <= 2, "fd %s open in child",
		    de->d_name);
	}
	closedir(d);
	ck_assert_int_eq(nfds, 3);
	snprintf(path, sizeof(path), "/proc/%ld/fd/1", sl);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_str_eq(link, "/dev/null");
	/* close kills and reaps it, without a callback. */
	sink_exec_ops.close(&sink);
	ck_assert_int_eq(G[0].n, 0);
	ck_assert(proc_dead(sh));
	close(leak);
	nfd0--;
	check_clean();
}
END_TEST

START_TEST(test_epipe)
{
	struct got	*g;
	char		*big;
	size_t		 len = 4 * 1024 * 1024;

	set_prog("no-read", 0);
	open_sink();
	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, '{', len);
	g = deliver("k", big, len);
	free(big);
	ck_assert_msg(g->ok == 1, "error: %s", g->error);
	check_clean();
}
END_TEST

START_TEST(test_spawn_fails)
{
	struct got	*g;

	conf.argv = argv;
	conf.argc = 1;
	argv[0] = s_noent;
	argv[1] = NULL;
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "spawn: ENOENT");
	sink_exec_ops.close(&sink);
	set_prog("not-executable", 0);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "spawn: EACCES");
	check_clean();
}
END_TEST

START_TEST(test_many)
{
	struct sink_conf	 confs[20];
	struct sink		 sinks[20];
	struct sink_item	 item;
	struct got		*g[20], extra;
	char			*args[20][3], paths[20][PATH_MAX];
	char			 prog[PATH_MAX], key[32], *s;
	int			 i;

	/* One sink, many children at once, capped by concurrency. */
	conf.concurrency = 20;
	set_prog("fail-stderr", 0);
	open_sink();
	for (i = 0; i < 20; i++)
		g[i] = start("k", JSON, strlen(JSON));
	memset(&extra, 0, sizeof(extra));
	ck_assert_int_eq(try_deliver("k", "{}", 2, &extra), -1);
	run(20, 10);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(g[i]->n, 1);
		ck_assert_str_eq(g[i]->error,
		    "exit 2: something broke second line");
	}
	ck_assert_int_eq(extra.n, 0);
	check_clean();

	/* Twenty sinks, each with its own output file, all at once. */
	snprintf(prog, sizeof(prog), "%s/stdin-to-file", datadir);
	for (i = 0; i < 20; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/out%d", tmpdir, i);
		args[i][0] = prog;
		args[i][1] = paths[i];
		args[i][2] = NULL;
		confs[i] = conf;
		confs[i].argv = args[i];
		confs[i].argc = 2;
		sinks[i] = sink;
		sinks[i].conf = &confs[i];
		ck_assert_int_eq(sink_exec_ops.open(&sinks[i], NULL), 0);
	}
	for (i = 0; i < 20; i++) {
		memset(&item, 0, sizeof(item));
		snprintf(key, sizeof(key), "m%d", i);
		item.key = key;
		item.json = JSON;
		item.len = strlen(JSON);
		G[ng].sink = &sinks[i];
		ck_assert_int_eq(sink_exec_ops.deliver(&sinks[i], &item,
		    done_cb, &G[ng++]), 0);
	}
	run(40, 10);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(G[20 + i].n, 1);
		ck_assert_msg(G[20 + i].ok, "%d: %s", i, G[20 + i].error);
		s = slurp(paths[i], NULL);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, JSON);
		free(s);
		snprintf(key, sizeof(key), "PINGBACKD_ID=m%d\n", i);
		snprintf(prog, sizeof(prog), "%s.env", paths[i]);
		s = slurp(prog, NULL);
		ck_assert_ptr_nonnull(s);
		ck_assert_ptr_nonnull(strstr(s, key));
		free(s);
		sink_exec_ops.close(&sinks[i]);
	}
	check_clean();
}
END_TEST

START_TEST(test_close_running)
{
	int	 i;

	set_prog("sleep-group", 1);
	open_sink();
	for (i = 0; i < 5; i++)
		start("k", JSON, strlen(JSON));
	free(wait_out(""));	/* one at least is well under way */
	check_clean();
	run(1, 0.5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(G[i].n, 0);
}
END_TEST

START_TEST(test_close_pending_done)
{
	conf.argv = argv;
	conf.argc = 1;
	argv[0] = s_noent;
	argv[1] = NULL;
	open_sink();
	start("k", JSON, strlen(JSON));		/* done is queued */
	check_clean();
	run(1, 0.3);
	ck_assert_int_eq(G[0].n, 0);
}
END_TEST

START_TEST(test_close_in_done)
{
	struct got	*a, *b, *c;

	set_prog("by-id", 0);
	open_sink();
	b = start("slow-b", "{}", 2);
	a = start("ok-a", "{}", 2);
	a->close_sink = 1;
	c = start("slow-c", "{}", 2);
	run(1, 5);
	ck_assert_int_eq(a->n, 1);
	ck_assert_int_eq(a->ok, 1);
	run(2, 0.5);
	ck_assert_int_eq(b->n + c->n, 0);
	ck_assert_ptr_null(sink.priv);
	check_clean();
}
END_TEST

START_TEST(test_close_in_done_same_drain)
{
	struct got	*a, *b;

	/* Two failed spawns: both dones are due in the same drain. */
	conf.argv = argv;
	conf.argc = 1;
	argv[0] = s_noent;
	argv[1] = NULL;
	open_sink();
	a = start("a", "{}", 2);
	a->close_sink = 1;
	b = start("b", "{}", 2);
	run(1, 5);
	ck_assert_int_eq(a->n, 1);
	run(2, 0.3);
	ck_assert_int_eq(b->n, 0);
	ck_assert_ptr_null(sink.priv);
	check_clean();
}
END_TEST

START_TEST(test_by_id)
{
	struct got	*ok, *fail, *other;

	set_prog("by-id", 0);
	open_sink();
	fail = start("fail-1", "{}", 2);
	ok = start("ok-1", "{}", 2);
	other = start("x", "{}", 2);
	run(3, 5);
	ck_assert_int_eq(ok->ok, 1);
	ck_assert_str_eq(fail->error, "exit 1");
	ck_assert_str_eq(other->error, "exit 9");
	check_clean();
}
END_TEST

START_TEST(test_deliver_in_done)
{
	struct got	*g;

	open_sink();
	g = start("first", "{}", 2);
	g->again = 1;
	run(2, 5);
	ck_assert_int_eq(g->n, 2);
	ck_assert_int_eq(g->ok, 1);
	check_clean();
}
END_TEST

START_TEST(test_open_errors)
{
	char	*cause = NULL;
	char	 rel[] = "bin/true";

	argv[0] = rel;
	ck_assert_int_eq(sink_exec_ops.open(&sink, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;
	conf.argc = 0;
	ck_assert_int_eq(sink_exec_ops.open(&sink, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(sink.priv);
	set_prog("exit3", 0);
	sink.base = NULL;
	ck_assert_int_eq(sink_exec_ops.open(&sink, &cause), -1);
	free(cause);
	sink.base = base;
	check_clean();
}
END_TEST

static Suite *
exec_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sink_exec");
	tc = tcase_create("run");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_chatty);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_child_fds);
	tcase_add_test(tc, test_epipe);
	tcase_add_test(tc, test_spawn_fails);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_close_running);
	tcase_add_test(tc, test_close_pending_done);
	tcase_add_test(tc, test_close_in_done);
	tcase_add_test(tc, test_close_in_done_same_drain);
	tcase_add_test(tc, test_by_id);
	tcase_add_test(tc, test_deliver_in_done);
	tcase_add_test(tc, test_open_errors);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* As in the daemon: a child that does not read gives EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(exec_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
