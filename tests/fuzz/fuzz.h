/* Helpers shared by the libFuzzer harnesses (fuzz_common.c). */
#ifndef PBD_FUZZ_H
#define PBD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry points libFuzzer calls. */
int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Send log.h output to /dev/null, unless PBD_FUZZ_LOG is set. */
void	 fuzz_quiet_log(void);

#define FUZZ_NO_C0	0x1	/* no C0 controls or DEL */
#define FUZZ_NO_C1	0x2	/* no U+0080..U+009F */
/*
 * Abort, naming what, unless s is valid UTF-8 (RFC 3629) obeying
 * flags; return its length in code points.
 */
size_t	 fuzz_check_utf8(const char *what, const char *s, int flags);

#endif
