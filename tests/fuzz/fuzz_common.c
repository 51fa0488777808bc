/* Helpers shared by the libFuzzer harnesses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "fuzz.h"

void
fuzz_quiet_log(void)
{
	FILE	*null;

	if (getenv("PBD_FUZZ_LOG") != NULL)
		return;
	if ((null = fopen("/dev/null", "w")) == NULL) {
		perror("/dev/null");
		abort();
	}
	log_setstream(null);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
fuzz_utf8_len(const unsigned char *s, size_t n)
{
	size_t	 len, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return (0);
	if (n < len)
		return (0);
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return (0);
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return (0);
	return (len);
}

size_t
fuzz_check_utf8(const char *what, const char *s, int flags)
{
	const unsigned char	*p = (const unsigned char *)s;
	const char		*bad = NULL;
	size_t			 n, i = 0, len, chars = 0;

	if (s == NULL) {
		fprintf(stderr, "%s: NULL\n", what);
		abort();
	}
	n = strlen(s);
	while (i < n) {
		if ((len = fuzz_utf8_len(p + i, n - i)) == 0)
			bad = "invalid UTF-8";
		else if ((flags & FUZZ_NO_C0) && len == 1 &&
		    (p[i] < 0x20 || p[i] == 0x7f))
			bad = "C0 control";
		else if ((flags & FUZZ_NO_C1) && len == 2 && p[i] == 0xc2 &&
		    p[i + 1] < 0xa0)
			bad = "C1 control";
		if (bad != NULL) {
			fprintf(stderr, "%s: %s at byte %zu of \"%s\"\n", what,
			    bad, i, s);
			abort();
		}
		i += len;
		chars++;
	}
	return (chars);
}
