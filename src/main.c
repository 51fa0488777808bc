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
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libxml/parser.h>
#include <systemd/sd-daemon.h>

#include "pbd.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

static struct event	*main_grace;

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

static void
main_status(struct pbd *pbd)
{
	sd_notifyf(0, "STATUS=%zu in flight, %llu accepted, %llu rejected",
	    pbd->ninflight, (unsigned long long)pbd->accepted,
	    (unsigned long long)pbd->rejected);
}

/* SIGHUP: build the new configuration aside; swap it in only if whole. */
static void
main_reload(struct pbd *pbd)
{
	struct conf		*nconf, *old;
	struct store		*nstore = NULL;
	struct fetch_limits	 fl;
	char			*cause = NULL;

	sd_notify(0, "RELOADING=1");
	if ((nconf = main_load(pbd->conf->path, 1)) == NULL)
		goto done;
	if (strcmp(nconf->store_path, pbd->conf->store_path) != 0 &&
	    (nstore = store_open(nconf->store_path, &cause)) == NULL)
		goto refuse;
	if (http_set_listeners(pbd->http, nconf->listen, nconf->nlisten,
	    &cause) == -1)
		goto refuse;
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
	sd_notify(0, "READY=1");
	main_status(pbd);
}

/* Called when a request or an answer finishes while stopping. */
static void
main_idle(struct pbd *pbd)
{
	if (pbd->ninflight == 0 && pbd->nreplying == 0)
		event_base_loopexit(pbd->base, NULL);
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
	sd_notify(0, "STOPPING=1");
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
			printf("%s %s\nsinks: sqlite\n", PACKAGE_NAME,
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
	if ((pbd.store = store_open(pbd.conf->store_path, &cause)) == NULL)
		fatalx("store: %s", cause);
	main_fetch_limits(pbd.conf, &fl);
	pbd.fetch = fetch_ctx_new(pbd.base, &fl);
	pbd.rl = rl_new(pbd.conf->client_rate, pbd.conf->client_burst);
	pbd.hostrl = rl_new(pbd.conf->source_host_per_minute / 60.0,
	    pbd.conf->source_host_per_minute);
	pbd.fc = fc_new(pbd.conf->fetch_cache_ttl, pbd.conf->fetch_cache_size);
	pbd.http = http_new(&pbd);
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
	sd_notify(0, "READY=1");
	main_status(&pbd);

	if (event_base_dispatch(pbd.base) == -1)
		fatalx("event loop failed");

	/* Teardown: requests, HTTP, transfers, store, then the libraries. */
	pingback_free_all(&pbd);
	http_free(pbd.http);
	fetch_ctx_free(pbd.fetch);
	store_close(pbd.store);
	rl_free(pbd.rl);
	rl_free(pbd.hostrl);
	fc_free(pbd.fc);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (main_grace != NULL)
		event_free(main_grace);
	event_base_free(pbd.base);
	conf_free(pbd.conf);
	curl_global_cleanup();
	xmlCleanupParser();
	log_event(LOG_NOTICE, "stopped", NULL);
	return (0);
}
