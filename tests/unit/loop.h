/* Bounded event-loop runs for the unit tests that drive libevent. */
#ifndef PBD_TEST_LOOP_H
#define PBD_TEST_LOOP_H

struct event_base;

/* Seconds on the monotonic clock. */
double	tl_now(void);
/* Run base until *done reaches want, or secs pass (a safety timer). */
void	tl_run(struct event_base *, const int *done, int want, double secs);

#endif
