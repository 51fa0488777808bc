/*
 * libFuzzer harness for xmlrpc.c: a request body goes through xr_decode
 * and the response the daemon would send is built from the result, as
 * pingback.c does (a string for a ping, string arrays for
 * getPingbacks and listMethods, a fault for a failed decode).  What
 * was decoded is logged with log_event, in either format, as the
 * daemon logs it (the log goes to /dev/null).
 *
 * Invariants (abort on violation): a fault is code 0, at most 200
 * bytes, valid UTF-8 without controls; decoded strings are valid UTF-8
 * without NUL; every response is well-formed XML.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "log.h"
#include "pbd.h"
#include "xmalloc.h"
#include "fuzz.h"

#define FUZZ_MAX_BODY	65536

/* Abort unless doc[0..len) is a well-formed XML document. */
static void
fuzz_check_xml(const char *what, const char *doc, size_t len)
{
	xmlDoc	*x;

	if (doc == NULL || strlen(doc) != len) {
		fprintf(stderr, "%s: bad response buffer\n", what);
		abort();
	}
	x = xmlReadMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (x == NULL) {
		fprintf(stderr, "%s: response is not well-formed XML:\n%s\n",
		    what, doc);
		abort();
	}
	xmlFreeDoc(x);
}

/* Swallow libxml2's messages about the documents checked here. */
static void
fuzz_quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, fuzz_quiet);
	xr_init(FUZZ_MAX_BODY);
	return (0);
}

/* Build and check the answer to a decoded call. */
static void
fuzz_answer(const struct xr_call *call)
{
	static char	 m_ping[] = "pingback.ping";
	static char	 m_get[] = "pingback.extensions.getPingbacks";
	static char	 m_list[] = "system.listMethods";
	char		*const methods[] = { m_ping, m_get, m_list };
	char		*list[2], *doc, *msg;
	size_t		 len;

	switch (call->method) {
	case XR_PING:
		if (call->source == NULL || call->target == NULL)
			abort();
		fuzz_check_utf8("source", call->source, 0);
		fuzz_check_utf8("target", call->target, 0);
		log_event(LOG_INFO, "pingback.accepted", "source",
		    call->source, "target", call->target, NULL);
		doc = xr_encode_string(call->source, &len);
		fuzz_check_xml("xr_encode_string", doc, len);
		free(doc);
		xasprintf(&msg, "Pingback from %s to %s registered. "
		    "Keep the web talking! :-)", call->source, call->target);
		doc = xr_encode_string(msg, &len);
		fuzz_check_xml("xr_encode_string", doc, len);
		free(doc);
		free(msg);
		/* Any text may end up in a fault string. */
		doc = xr_encode_fault(PB_FAULT_NO_LINK, call->target, &len);
		fuzz_check_xml("xr_encode_fault", doc, len);
		free(doc);
		break;
	case XR_GET_PINGBACKS:
		if (call->url == NULL)
			abort();
		fuzz_check_utf8("url", call->url, 0);
		log_event(LOG_INFO, "xmlrpc.ok", "url", call->url, NULL);
		list[0] = call->url;
		list[1] = m_ping;
		doc = xr_encode_strings(list, 2, &len);
		fuzz_check_xml("xr_encode_strings", doc, len);
		free(doc);
		break;
	case XR_LIST_METHODS:
		doc = xr_encode_strings(methods, 3, &len);
		fuzz_check_xml("xr_encode_strings", doc, len);
		free(doc);
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xr_call	 call;
	char		*fault = NULL, *doc;
	size_t		 len;
	int		 code = -1;

	if (size > FUZZ_MAX_BODY)
		return (0);
	/* The daemon logs in either format. */
	log_setformat(size % 2 == 0 ? LOG_FORMAT_LOGFMT : LOG_FORMAT_JSON);
	if (xr_decode((const char *)data, size, &call, &code, &fault) == 0) {
		if (fault != NULL)
			abort();
		fuzz_answer(&call);
	} else {
		if (fault == NULL || code != PB_FAULT_GENERIC ||
		    strlen(fault) > 200 || call.source != NULL ||
		    call.target != NULL || call.url != NULL) {
			fprintf(stderr, "bad fault: code %d \"%s\"\n", code,
			    fault != NULL ? fault : "(null)");
			abort();
		}
		fuzz_check_utf8("fault", fault, FUZZ_NO_C0 | FUZZ_NO_C1);
		log_event(LOG_INFO, "xmlrpc.fault", "fault", "0", "reason",
		    fault, NULL);
		doc = xr_encode_fault(code, fault, &len);
		fuzz_check_xml("xr_encode_fault", doc, len);
		free(doc);
	}
	xr_call_free(&call);
	free(fault);
	return (0);
}
