/*
 * origin: the source server of make bench.  A small evhttp server that
 * serves, for any path below /s/, a blog page linking to the target
 * given with -t, and the same below /slow/ after a delay of -d
 * milliseconds (the slow-sources scenario).  The page names its path,
 * so every source URL gives a distinct page.
 *
 *	origin -t TARGET [-l host] [-p port] [-d delay_ms]
 *
 * Prints "listening port=N" on stdout once bound (port 0: any free).
 * On SIGTERM it prints "served=N delayed=N" on stderr and exits.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/queue.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

/* A request waiting for its delay to pass. */
struct origin_wait {
	struct evhttp_request	*req;
	struct event		*timer;
	char			*path;
};

static struct event_base	*origin_base;
static const char		*origin_target;
static struct timeval		 origin_delay;
static unsigned long		 origin_served, origin_delayed;

/*
 * A page of about 1.5 KiB, the size of a short blog post's HTML: a
 * title, some text, the link to the target in a paragraph.
 */
static void
origin_page(struct evhttp_request *req, const char *path)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add_printf(buf,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n"
	    "<title>Notes on %s</title>\n"
	    "<link rel=\"stylesheet\" href=\"/style.css\">\n"
	    "</head><body>\n<header><nav><a href=\"/\">Home</a> "
	    "<a href=\"/archive/\">Archive</a> <a href=\"/about/\">About"
	    "</a></nav></header>\n<article>\n<h1>Notes on %s</h1>\n"
	    "<p>This is a benchmark page standing in for a blog post of "
	    "ordinary length.  It has a heading, a few paragraphs of "
	    "text, a navigation bar and a footer, like the pages that "
	    "send pingbacks in the wild.</p>\n"
	    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
	    "sed do eiusmod tempor incididunt ut labore et dolore magna "
	    "aliqua.  Ut enim ad minim veniam, quis nostrud exercitation "
	    "ullamco laboris nisi ut aliquip ex ea commodo consequat.</p>\n"
	    "<p>As <a href=\"%s\">this post</a> explains in more detail, "
	    "duis aute irure dolor in reprehenderit in voluptate velit "
	    "esse cillum dolore eu fugiat nulla pariatur.  Excepteur sint "
	    "occaecat cupidatat non proident, sunt in culpa qui officia "
	    "deserunt mollit anim id est laborum.</p>\n"
	    "<p>Sed ut perspiciatis unde omnis iste natus error sit "
	    "voluptatem accusantium doloremque laudantium, totam rem "
	    "aperiam, eaque ipsa quae ab illo inventore veritatis et quasi "
	    "architecto beatae vitae dicta sunt explicabo.</p>\n"
	    "<ul><li><a href=\"/tags/web/\">web</a></li>"
	    "<li><a href=\"/tags/notes/\">notes</a></li></ul>\n"
	    "</article>\n<footer><p>Written by a benchmark. "
	    "<a href=\"/feed/\">Feed</a></p></footer>\n"
	    "<script>var analytics = \"<a href='%s'>not a link</a>\";"
	    "</script>\n</body></html>\n",
	    path, path, origin_target, origin_target);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
	origin_served++;
}

static void
origin_wait_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct origin_wait	*w = arg;

	(void)fd;
	(void)ev;
	origin_page(w->req, w->path);
	event_free(w->timer);
	free(w->path);
	free(w);
}

static void
origin_request_cb(struct evhttp_request *req, void *arg)
{
	struct origin_wait	*w;
	const char		*uri = evhttp_request_get_uri(req);

	(void)arg;
	if (strncmp(uri, "/s/", 3) == 0) {
		origin_page(req, uri);
		return;
	}
	if (strncmp(uri, "/slow/", 6) != 0) {
		evhttp_send_error(req, 404, "Not Found");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->path = strdup(uri)) == NULL ||
	    (w->timer = evtimer_new(origin_base, origin_wait_cb, w)) == NULL) {
		if (w != NULL)
			free(w->path);
		free(w);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	w->req = req;
	origin_delayed++;
	evtimer_add(w->timer, &origin_delay);
}

static void
origin_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	(void)arg;
	event_base_loopexit(origin_base, NULL);
}

int
main(int argc, char *argv[])
{
	struct evhttp			*evh;
	struct evhttp_bound_socket	*bs;
	struct event			*sigterm, *sigint;
	struct sockaddr_in		 sin;
	socklen_t			 sl = sizeof(sin);
	const char			*host = "127.0.0.1";
	long				 delay_ms = 2000;
	int				 ch, port = 0;

	while ((ch = getopt(argc, argv, "d:l:p:t:")) != -1) {
		switch (ch) {
		case 'd':
			delay_ms = atol(optarg);
			break;
		case 'l':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			origin_target = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (origin_target == NULL || delay_ms < 0)
		goto usage;
	origin_delay.tv_sec = delay_ms / 1000;
	origin_delay.tv_usec = (delay_ms % 1000) * 1000;
	signal(SIGPIPE, SIG_IGN);
	if ((origin_base = event_base_new()) == NULL ||
	    (evh = evhttp_new(origin_base)) == NULL) {
		fprintf(stderr, "origin: libevent setup failed\n");
		return (1);
	}
	/* Slow answers must not be cut by evhttp's own timeout. */
	evhttp_set_timeout(evh, 120);
	evhttp_set_gencb(evh, origin_request_cb, NULL);
	if ((bs = evhttp_bind_socket_with_handle(evh, host,
	    (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "origin: cannot bind %s:%d\n", host, port);
		return (1);
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &sl) == -1) {
		perror("origin: getsockname");
		return (1);
	}
	sigterm = evsignal_new(origin_base, SIGTERM, origin_signal_cb, NULL);
	sigint = evsignal_new(origin_base, SIGINT, origin_signal_cb, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		fprintf(stderr, "origin: cannot handle signals\n");
		return (1);
	}
	printf("listening port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	event_base_dispatch(origin_base);
	fprintf(stderr, "served=%lu delayed=%lu\n", origin_served,
	    origin_delayed);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(evh);
	event_base_free(origin_base);
	return (0);
usage:
	fprintf(stderr, "usage: origin -t target [-l host] [-p port] "
	    "[-d delay_ms]\n");
	return (1);
}
