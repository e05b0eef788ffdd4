/*
 * fnv.h - FNV-1a, the 64-bit non-cryptographic hash every process uses to
 * place keys in tables (tenants in the shared limiter, tokens in a worker's
 * cache, client addresses in its per-address count). Not for anything an
 * attacker must not be able to collide on purpose.
 */
#ifndef MCPI_FNV_H
#define MCPI_FNV_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

#endif
