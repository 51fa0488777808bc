/*
 * pingbackd: lifecycle.  Parse the command line, load the
 * configuration, set up the event loop with its listeners, fetcher and
 * store, run until SIGTERM, and tear down in the order libcurl and
 * libxml2 want.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libxml/parser.h>
#include <systemd/sd-daemon.h>

#include "pbd.h"
#include "daemon.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

#define MAIN_STATUS_INTERVAL_S	2	/* STATUS= refresh, if it changed */

static struct event	*main_grace;
static struct event	*main_flush;	/* stopping: answers being written */
static struct event	*main_status_ev;	/* under systemd only */
static struct event	*main_watchdog_ev;	/* with WatchdogSec= */
static const char	*main_state = "starting";
static int		 main_reload_refused;	/* the last reload */
static char		 main_last_status[256];

static _Noreturn void
main_usage(void)
{
	fprintf(stderr, "usage: pingbackd [-c FILE] [-t] [-V]\n");
	exit(1);
}

/*
 * Every connection and every fetch is a descriptor: raise the soft
 * limit to the hard one, as far as server.max_connections needs.
 */
static void
main_raise_nofile(const struct conf *conf)
{
	struct rlimit	 rl;
	rlim_t		 want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want = (rlim_t)conf->max_connections +
	    (rlim_t)conf->fetch_max_concurrent + 64;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

static void
main_fetch_limits(const struct conf *conf, struct fetch_limits *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->timeout_s = conf->fetch_timeout;
	fl->max_bytes = conf->fetch_max_bytes;
	fl->max_redirects = conf->fetch_max_redirects;
	fl->max_concurrent = conf->fetch_max_concurrent;
	fl->max_per_host = conf->fetch_max_per_host;
	fl->user_agent = conf->user_agent;
	fl->allow_networks = conf->allow_networks;
	fl->nallow_networks = conf->nallow_networks;
}

/* Load path, printing every error with its file:line; NULL on failure. */
static struct conf *
main_load(const char *path, int quiet)
{
	struct conf	*conf;
	char		*errors = NULL;

	if ((conf = conf_load(path, &errors)) == NULL && !quiet)
		fprintf(stderr, "%s\n", errors != NULL ? errors : path);
	if (conf == NULL && quiet && errors != NULL) {
		log_event(LOG_ERR, "config.rejected", "path", path,
		    "error", errors, NULL);
	}
	free(errors);
	return (conf);
}

/*
 * Tell systemd what we are doing (systemctl status shows it): the
 * state and the live counts.  Only a change is sent, unless forced.
 */
static void
main_status(struct pbd *pbd, int force)
{
	struct sinks_counts	 sc;
	char			 st[sizeof(main_last_status)];

	sinks_counts(pbd->sinks, &sc);
	snprintf(st, sizeof(st), "%s%s: %zu in flight, %llu accepted, "
	    "%llu rejected, %zu connections; outbox %llu pending, "
	    "%llu delivering, %llu delivered, %llu failed", main_state,
	    main_reload_refused ? " (last reload refused)" : "",
	    pbd->ninflight, (unsigned long long)pbd->accepted,
	    (unsigned long long)pbd->rejected,
	    pbd->http != NULL ? http_connections(pbd->http) : (size_t)0,
	    (unsigned long long)sc.pending, (unsigned long long)sc.inflight,
	    (unsigned long long)sc.delivered, (unsigned long long)sc.failed);
	if (!force && strcmp(st, main_last_status) == 0)
		return;
	memcpy(main_last_status, st, sizeof(st));
	sd_notifyf(0, "STATUS=%s", st);
}

static void
main_status_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	main_status(arg, 0);
}

/*
 * WATCHDOG=1 from the event loop itself: a loop that stalls stops
 * pinging, and systemd kills and restarts the service.
 */
static void
main_watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/* Under systemd: the status refresh, and the watchdog if it is on. */
static void
main_notify_start(struct pbd *pbd)
{
	struct timeval	 tv;
	uint64_t	 usec = 0;
	char		 ms[24];
	int		 r;

	if (getenv("NOTIFY_SOCKET") != NULL) {
		main_status_ev = event_new(pbd->base, -1, EV_PERSIST,
		    main_status_cb, pbd);
		tv.tv_sec = MAIN_STATUS_INTERVAL_S;
		tv.tv_usec = 0;
		if (main_status_ev == NULL ||
		    event_add(main_status_ev, &tv) == -1)
			fatalx("cannot add the status timer");
	}
	/* Unset WATCHDOG_*: programs we start are not watched. */
	if ((r = sd_watchdog_enabled(1, &usec)) < 0)
		log_event(LOG_WARNING, "watchdog.invalid", "error",
		    strerror(-r), NULL);
	if (r <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	main_watchdog_ev = event_new(pbd->base, -1, EV_PERSIST,
	    main_watchdog_cb, pbd);
	if (main_watchdog_ev == NULL || event_add(main_watchdog_ev, &tv) == -1)
		fatalx("cannot add the watchdog timer");
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)usec / 1000);
	log_event(LOG_INFO, "watchdog", "interval_ms", ms, NULL);
}

/* RELOADING=1, with the clock systemd >= 253 wants next to it. */
static void
main_notify_reloading(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		ts.tv_sec = ts.tv_nsec = 0;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\n"
	    "STATUS=reloading the configuration",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	main_state = "reloading";
	main_last_status[0] = '\0';
}

/* SIGHUP: build the new configuration aside; swap it in only if whole. */
static void
main_reload(struct pbd *pbd)
{
	struct conf		*nconf, *old;
	struct store		*nstore = NULL;
	struct fetch_limits	 fl;
	char			*cause = NULL;

	if (pbd->stopping)
		return;		/* the listeners are closed for good */
	main_notify_reloading();
	main_reload_refused = 1;
	if ((nconf = main_load(pbd->conf->path, 1)) == NULL)
		goto done;
	if (strcmp(nconf->store_path, pbd->conf->store_path) != 0 &&
	    (nstore = store_open(nconf->store_path, pbd->base, &cause)) == NULL)
		goto refuse;
	if (sinks_reload_prepare(pbd->sinks, nconf,
	    nstore != NULL ? nstore : pbd->store, &cause) == -1)
		goto refuse;
	if (http_set_listeners(pbd->http, nconf->listen, nconf->nlisten,
	    &cause) == -1) {
		sinks_reload_abort(pbd->sinks);
		goto refuse;
	}
	/* Before the old store closes: it still writes their outcomes. */
	sinks_reload_commit(pbd->sinks);
	if (nstore != NULL) {
		store_close(pbd->store);
		pbd->store = nstore;
	}
	old = pbd->conf;
	pbd->conf = nconf;
	main_fetch_limits(nconf, &fl);
	fetch_ctx_set_limits(pbd->fetch, &fl);
	rl_set(pbd->rl, nconf->client_rate, nconf->client_burst);
	rl_set(pbd->hostrl, nconf->source_host_per_minute / 60.0,
	    nconf->source_host_per_minute);
	fc_set(pbd->fc, nconf->fetch_cache_ttl, nconf->fetch_cache_size);
	http_apply(pbd->http, nconf);
	xr_init(nconf->max_body);
	log_setlevel(nconf->log_level);
	log_setformat(nconf->log_format);
	conf_free(old);
	main_reload_refused = 0;
	log_event(LOG_NOTICE, "config.reloaded", "path", nconf->path, NULL);
	goto done;
refuse:
	log_event(LOG_ERR, "config.rejected", "path", nconf->path,
	    "error", cause, NULL);
	if (nstore != NULL)
		store_close(nstore);
	conf_free(nconf);
	free(cause);
done:
	main_state = "serving";
	sd_notify(0, "READY=1");
	main_status(pbd, 1);
}

static void	main_idle(struct pbd *);

static void
main_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	main_idle(arg);
}

/* Called when a request finishes while stopping. */
static void
main_idle(struct pbd *pbd)
{
	struct timeval		 tv = { 0, 20 * 1000 };

	if (pbd->ninflight != 0)
		return;
	if (http_unsent(pbd->http) == 0) {
		event_base_loopexit(pbd->base, NULL);
		return;
	}
	/* Answers still being written: look again shortly (bounded by grace). */
	if (main_flush == NULL && (main_flush = evtimer_new(pbd->base,
	    main_flush_cb, pbd)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(main_flush, &tv);
}

static void
main_grace_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pbd	*pbd = arg;
	char		 n[24];

	(void)fd;
	(void)ev;
	snprintf(n, sizeof(n), "%zu", pbd->ninflight);
	log_event(LOG_WARNING, "shutdown.timeout", "inflight", n, NULL);
	event_base_loopexit(pbd->base, NULL);
}

/* SIGTERM/SIGINT: stop accepting, let what is in flight finish. */
static void
main_stop(struct pbd *pbd)
{
	struct timeval	 tv;
	char		 n[24];

	if (pbd->stopping)
		return;
	pbd->stopping = 1;
	main_state = "stopping";
	sd_notify(0, "STOPPING=1");
	main_status(pbd, 1);
	snprintf(n, sizeof(n), "%zu", pbd->ninflight);
	log_event(LOG_NOTICE, "stopping", "inflight", n, NULL);
	http_stop_accepting(pbd->http);
	pbd->idle_cb = main_idle;
	tv.tv_sec = pbd->conf->fetch_timeout * 2 + PBD_SHUTDOWN_GRACE_S;
	tv.tv_usec = 0;
	if ((main_grace = evtimer_new(pbd->base, main_grace_cb, pbd)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(main_grace, &tv);
	main_idle(pbd);
}

static void
main_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct pbd	*pbd = arg;

	(void)ev;
	if (sig == SIGHUP)
		main_reload(pbd);
	else
		main_stop(pbd);
}

int
main(int argc, char *argv[])
{
	struct pbd		 pbd;
	struct fetch_limits	 fl;
	struct event		*sigs[3];
	const int		 signums[3] = { SIGHUP, SIGTERM, SIGINT };
	const char		*path = PBD_CONF_FILE;
	char			*cause = NULL;
	int			 ch, test = 0, i;

	while ((ch = getopt(argc, argv, "c:tV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("%s %s\nsinks: sqlite (store) webhook exec\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return (0);
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();

	log_init(LOG_INFO, LOG_FORMAT_LOGFMT);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	xmlInitParser();
	memset(&pbd, 0, sizeof(pbd));
	TAILQ_INIT(&pbd.pingbacks);
	if ((pbd.conf = main_load(path, 0)) == NULL)
		return (1);
	if (test) {
		printf("configuration OK\n");
		conf_free(pbd.conf);
		curl_global_cleanup();
		xmlCleanupParser();
		return (0);
	}
	log_setlevel(pbd.conf->log_level);
	log_setformat(pbd.conf->log_format);
	signal(SIGPIPE, SIG_IGN);
	main_raise_nofile(pbd.conf);
	xr_init(pbd.conf->max_body);

	if ((pbd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((pbd.store = store_open(pbd.conf->store_path, pbd.base,
	    &cause)) == NULL)
		fatalx("store: %s", cause);
	main_fetch_limits(pbd.conf, &fl);
	pbd.fetch = fetch_ctx_new(pbd.base, &fl);
	if ((pbd.sinks = sinks_new(pbd.base, pbd.store, pbd.fetch, pbd.conf,
	    &cause)) == NULL)
		fatalx("%s", cause);
	pbd.rl = rl_new(pbd.conf->client_rate, pbd.conf->client_burst);
	pbd.hostrl = rl_new(pbd.conf->source_host_per_minute / 60.0,
	    pbd.conf->source_host_per_minute);
	pbd.fc = fc_new(pbd.conf->fetch_cache_ttl, pbd.conf->fetch_cache_size);
	pbd.http = http_new(&pbd);
	http_adopt_activated(pbd.http);
	if (http_set_listeners(pbd.http, pbd.conf->listen, pbd.conf->nlisten,
	    &cause) == -1)
		fatalx("%s", cause);
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(pbd.base, signums[i], main_signal_cb,
		    &pbd);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			fatalx("cannot handle signal %d", signums[i]);
	}
	log_event(LOG_NOTICE, "ready", "version", PACKAGE_VERSION,
	    "config", pbd.conf->path, "store", pbd.conf->store_path, NULL);
	main_notify_start(&pbd);
	main_state = "serving";
	sd_notify(0, "READY=1");
	main_status(&pbd, 1);

	if (event_base_dispatch(pbd.base) == -1)
		fatalx("event loop failed");

	/* Teardown: requests, HTTP, transfers, store, then the libraries. */
	pingback_free_all(&pbd);
	http_free(pbd.http);
	sinks_free(pbd.sinks);
	fetch_ctx_free(pbd.fetch);
	store_close(pbd.store);
	rl_free(pbd.rl);
	rl_free(pbd.hostrl);
	fc_free(pbd.fc);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (main_grace != NULL)
		event_free(main_grace);
	if (main_flush != NULL)
		event_free(main_flush);
	if (main_status_ev != NULL)
		event_free(main_status_ev);
	if (main_watchdog_ev != NULL)
		event_free(main_watchdog_ev);
	event_base_free(pbd.base);
	conf_free(pbd.conf);
	curl_global_cleanup();
	xmlCleanupParser();
	log_event(LOG_NOTICE, "stopped", NULL);
	return (0);
}
