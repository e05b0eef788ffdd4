/*
 * clock.h - the one clock deadlines are measured on: CLOCK_MONOTONIC in
 * nanoseconds (never jumps with the wall clock). Every process.
 */
#ifndef MCPI_CLOCK_H
#define MCPI_CLOCK_H

#include <time.h>

static inline long long clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
