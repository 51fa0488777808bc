/*
 * libFuzzer harness for url.c: url_normalize and url_host on the input,
 * url_resolve of the input against a fixed base, and, with the input
 * split at its first '\n', of the second part against the first.
 *
 * Invariants (abort on violation): every result starts with "http://"
 * or "https://", is at most PBD_MAX_URL_BYTES long and normalises to
 * itself; a failure always has a cause.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbd.h"
#include "xmalloc.h"
#include "fuzz.h"

#define FUZZ_BASE	"http://source.example/dir/page.html?q=1#top"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return (0);
}

/* Check one result of url_normalize or url_resolve; free it. */
static void
fuzz_check(const char *what, const char *in, char *out, const char *cause)
{
	const char	*cause2 = NULL;
	char		*again;

	if (out == NULL) {
		if (cause == NULL) {
			fprintf(stderr, "%s(\"%s\"): NULL without a cause\n",
			    what, in);
			abort();
		}
		return;
	}
	if (strncmp(out, "http://", 7) != 0 &&
	    strncmp(out, "https://", 8) != 0) {
		fprintf(stderr, "%s(\"%s\") = \"%s\": not http(s)\n", what,
		    in, out);
		abort();
	}
	if (strlen(out) > PBD_MAX_URL_BYTES) {
		fprintf(stderr, "%s(\"%s\"): %zu bytes\n", what, in,
		    strlen(out));
		abort();
	}
	if ((again = url_normalize(out, &cause2)) == NULL ||
	    strcmp(again, out) != 0) {
		fprintf(stderr, "%s(\"%s\") = \"%s\", but that normalises "
		    "to \"%s\" (%s)\n", what, in, out,
		    again != NULL ? again : "NULL",
		    cause2 != NULL ? cause2 : "");
		abort();
	}
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*cause;
	char		*in, *base, *ref, *out;

	in = xstrndup((const char *)data, size);

	cause = NULL;
	out = url_normalize(in, &cause);
	fuzz_check("url_normalize", in, out, cause);
	free(url_host(in));

	cause = NULL;
	out = url_resolve(FUZZ_BASE, in, &cause);
	fuzz_check("url_resolve", in, out, cause);

	if ((ref = strchr(in, '\n')) != NULL) {
		base = in;
		*ref++ = '\0';
		cause = NULL;
		out = url_resolve(base, ref, &cause);
		fuzz_check("url_resolve", ref, out, cause);
	}
	free(in);
	return (0);
}
