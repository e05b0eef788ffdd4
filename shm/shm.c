/*
 * shm.c - create the shared segment and manage scoreboard slots.
 * Runs in the master (create, claim, reap) and is read by workers; every
 * process records its own usage (shm_self_usage).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shm/peer_limit.h"
#include "shm/shm.h"

#define SHM_MAGIC 0x4d4350494e564f31ULL /* "MCPINVO1" */

struct shm_segment *shm_create(void)
{
	struct shm_segment *seg = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seg == MAP_FAILED)
		return NULL;
	/* An anonymous mapping is zero-filled: not touching it keeps the
	 * per-address rows of unused slots unbacked. */
	seg->magic = SHM_MAGIC;
	return seg;
}

void shm_destroy(struct shm_segment *seg)
{
	if (seg)
		munmap(seg, sizeof(*seg));
}

int shm_slot_claim(struct shm_segment *seg)
{
	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		int expected = SLOT_FREE;
		if (atomic_compare_exchange_strong(&seg->slots[i].state, &expected,
		                                   SLOT_STARTING)) {
			struct shm_slot *s = &seg->slots[i];
			atomic_store(&s->pid, 0);
			atomic_store(&s->database_up, 0);
			atomic_store(&s->inflight, 0);
			atomic_store(&s->connections, 0);
			atomic_store(&s->buffered_bytes, 0);
			atomic_store(&s->cpu_us, 0);
			atomic_store(&s->rss_bytes, 0);
			if (atomic_load(&seg->slots_high) < i + 1)
				atomic_store(&seg->slots_high, i + 1);
			return i;
		}
	}
	return -1;
}

void shm_slot_reap(struct shm_segment *seg, int slot)
{
	struct shm_slot *s = &seg->slots[slot];

	/* Keeps the workers' CPU counter monotonic across replacements. */
	atomic_fetch_add(&seg->retired_worker_cpu_us, atomic_exchange(&s->cpu_us, 0));
	atomic_store(&s->rss_bytes, 0);
	atomic_store(&s->inflight, 0);
	atomic_store(&s->connections, 0);
	atomic_store(&s->buffered_bytes, 0);
	atomic_store(&s->database_up, 0);
	atomic_store(&s->pid, 0);
	peer_limit_reap(seg, slot);
	atomic_store(&s->state, SLOT_FREE);
}

const long long shm_duration_bounds_us[SHM_DURATION_BUCKETS - 1] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000,
};

static int duration_bucket(long long us)
{
	int b = 0;

	while (b < SHM_DURATION_BUCKETS - 1 && us > shm_duration_bounds_us[b])
		b++;
	return b;
}

void shm_record_duration(struct shm_slot *slot, long long duration_us)
{
	atomic_fetch_add_explicit(&slot->duration_buckets[duration_bucket(duration_us)], 1,
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&slot->duration_sum_us, duration_us, memory_order_relaxed);
}

void shm_histogram_observe(struct shm_histogram *h, long long us)
{
	atomic_fetch_add_explicit(&h->buckets[duration_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void shm_self_usage(long long *cpu_us, long long *rss_bytes)
{
	/* Opened once per process (a forked child reopens its own), so that a
	 * process whose sandbox forbids open can still read it. */
	static int fd = -1;
	static pid_t opener;
	struct rusage ru;
	char buf[128];
	long pages = 0;
	ssize_t n;

	*cpu_us = 0;
	*rss_bytes = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		*cpu_us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
		          ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	if (opener != getpid()) {
		if (fd >= 0)
			close(fd);
		fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
		opener = getpid();
	}
	/* statm's second field: resident pages. */
	if (fd >= 0 && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%*d %ld", &pages) == 1)
			*rss_bytes = (long long)pages * sysconf(_SC_PAGESIZE);
	}
}

long long shm_inflight_total(struct shm_segment *seg)
{
	long long total = 0;

	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		total += atomic_load_explicit(&seg->slots[i].inflight, memory_order_relaxed);
	return total;
}
