/*
 * libFuzzer harness for config.c: the input is written to a file (one
 * per process, made with mkstemp in $TMPDIR and reused) and loaded
 * with conf_load.
 *
 * Invariants (abort on violation): conf_load returns a configuration
 * and no errors, or NULL and errors; every error line starts with the
 * file's path and ':'.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pbd.h"
#include "xmalloc.h"
#include "fuzz.h"

static char	*fuzz_path;
static int	 fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	if (fuzz_path != NULL)
		unlink(fuzz_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir;

	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	xasprintf(&fuzz_path, "%s/fuzz_config.XXXXXX", dir);
	if ((fuzz_fd = mkstemp(fuzz_path)) == -1) {
		fprintf(stderr, "mkstemp %s: %s\n", fuzz_path,
		    strerror(errno));
		abort();
	}
	atexit(fuzz_cleanup);
	return (0);
}

/* Replace the file's contents with data[0..size). */
static void
fuzz_write(const uint8_t *data, size_t size)
{
	size_t	 off = 0;
	ssize_t	 n;

	if (ftruncate(fuzz_fd, 0) == -1) {
		fprintf(stderr, "ftruncate: %s\n", strerror(errno));
		abort();
	}
	while (off < size) {
		n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "pwrite: %s\n", strerror(errno));
			abort();
		}
		off += (size_t)n;
	}
}

/* Abort unless each line of errors starts with "path:". */
static void
fuzz_check_errors(const char *errors)
{
	const char	*line, *nl;
	size_t		 plen = strlen(fuzz_path);

	for (line = errors; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (strncmp(line, fuzz_path, plen) != 0 ||
		    line[plen] != ':') {
			fprintf(stderr, "error line without \"%s:\": \"%.*s\"\n"
			    "all errors:\n%s\n", fuzz_path,
			    nl != NULL ? (int)(nl - line) : (int)strlen(line),
			    line, errors);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*conf;
	char		*errors = NULL;

	fuzz_write(data, size);
	conf = conf_load(fuzz_path, &errors);
	if ((conf == NULL) == (errors == NULL)) {
		fprintf(stderr, "conf_load: conf %p, errors %s\n",
		    (void *)conf, errors != NULL ? errors : "NULL");
		abort();
	}
	if (errors != NULL)
		fuzz_check_errors(errors);
	if (conf != NULL)
		(void)conf_target_allowed(conf, "http://blog.example/post/");
	conf_free(conf);
	free(errors);
	return (0);
}
