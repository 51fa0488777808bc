/*
 * bare_fault: the fault-path baseline of make bench.  A bare evhttp
 * server that answers every POST with one fixed XML-RPC fault 33 and
 * parses nothing: what the HTTP layer alone costs.  pingbackd's fault
 * path is measured against it.
 *
 *	bare_fault [-l host] [-p port]
 *
 * Prints "listening port=N" on stdout once bound (port 0: any free).
 */
#include "config.h"

#include <sys/socket.h>

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

/* The same document pingbackd sends for fault 33. */
static const char bare_fault_doc[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
	"<methodResponse>\r\n"
	"<fault>\r\n"
	"<value><struct>\r\n"
	"<member><name>faultCode</name>\r\n"
	"<value><i4>33</i4></value></member>\r\n"
	"<member><name>faultString</name>\r\n"
	"<value><string>The specified target URI cannot be used as a "
	"target.</string></value></member>\r\n"
	"</struct></value>\r\n"
	"</fault>\r\n"
	"</methodResponse>\r\n";

static void
bare_fault_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*buf;

	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add_reference(buf, bare_fault_doc, sizeof(bare_fault_doc) - 1,
	    NULL, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/xml; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

static void
bare_fault_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char *argv[])
{
	struct event_base		*base;
	struct evhttp			*evh;
	struct evhttp_bound_socket	*bs;
	struct event			*sigterm, *sigint;
	struct sockaddr_in		 sin;
	socklen_t			 sl = sizeof(sin);
	const char			*host = "127.0.0.1";
	int				 ch, port = 0;

	while ((ch = getopt(argc, argv, "l:p:")) != -1) {
		switch (ch) {
		case 'l':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bare_fault [-l host] "
			    "[-p port]\n");
			return (1);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL || (evh = evhttp_new(base)) ==
	    NULL) {
		fprintf(stderr, "bare_fault: libevent setup failed\n");
		return (1);
	}
	evhttp_set_gencb(evh, bare_fault_request_cb, NULL);
	if ((bs = evhttp_bind_socket_with_handle(evh, host,
	    (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "bare_fault: cannot bind %s:%d\n", host, port);
		return (1);
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &sl) == -1) {
		perror("bare_fault: getsockname");
		return (1);
	}
	sigterm = evsignal_new(base, SIGTERM, bare_fault_signal_cb, base);
	sigint = evsignal_new(base, SIGINT, bare_fault_signal_cb, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		fprintf(stderr, "bare_fault: cannot handle signals\n");
		return (1);
	}
	printf("listening port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	event_base_dispatch(base);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(evh);
	event_base_free(base);
	return (0);
}
