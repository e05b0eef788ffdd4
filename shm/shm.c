/*
 * shm.c - create the shared segment and manage scoreboard slots.
 * Runs in the master (create, claim, reap) and is read by workers.
 */
#include <string.h>
#include <sys/mman.h>

#include "shm.h"

#define SHM_MAGIC 0x4d4350494e564f31ULL /* "MCPINVO1" */

struct shm_segment *shm_create(void)
{
	struct shm_segment *seg = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seg == MAP_FAILED)
		return NULL;
	memset(seg, 0, sizeof(*seg));
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
			atomic_store(&s->inflight, 0);
			atomic_store(&s->connections, 0);
			return i;
		}
	}
	return -1;
}

void shm_slot_reap(struct shm_segment *seg, int slot)
{
	struct shm_slot *s = &seg->slots[slot];

	atomic_store(&s->inflight, 0);
	atomic_store(&s->connections, 0);
	atomic_store(&s->pid, 0);
	atomic_store(&s->state, SLOT_FREE);
}

long long shm_inflight_total(struct shm_segment *seg)
{
	long long total = 0;

	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		total += atomic_load_explicit(&seg->slots[i].inflight, memory_order_relaxed);
	return total;
}
