/* Bounded event-loop runs for the unit tests that drive libevent. */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "loop.h"

static void
tl_safety_cb(evutil_socket_t fd, short what, void *arg)
{
	int	*timed_out = arg;

	(void)fd;
	(void)what;
	*timed_out = 1;
}

double
tl_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

void
tl_run(struct event_base *base, const int *done, int want, double secs)
{
	struct event	*t;
	struct timeval	 tv;
	int		 timed_out = 0;

	tv.tv_sec = (long)secs;
	tv.tv_usec = (long)((secs - (long)secs) * 1e6);
	if ((t = evtimer_new(base, tl_safety_cb, &timed_out)) == NULL)
		abort();
	evtimer_add(t, &tv);
	while (*done < want && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}
