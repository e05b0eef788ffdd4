/*
 * health.c - /livez and /readyz (see health.h), answered from the shared
 * scoreboard: any worker can tell whether some worker has its database
 * up, and the master's shutdown flag says whether the server is draining.
 * Runs in workers. The answer never waits for the database: each worker
 * keeps reconnecting while its database is down (db.c), and the scoreboard
 * shows the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/log.h"
#include "worker/health.h"

static void health_body(struct response *resp, int status, const char *json)
{
	char *body = strdup(json);

	if (!body)
		fatal("out of memory");
	response_set_body(resp, status, body, strlen(body));
	response_header(resp, "Content-Type: application/json");
	resp->unmetered = 1;
}

void health_live(struct worker_ctx *w, struct response *resp)
{
	(void)w;
	health_body(resp, 200, "{\"status\":\"live\"}");
	snprintf(resp->outcome, sizeof(resp->outcome), "live");
}

void health_ready(struct worker_ctx *w, struct response *resp)
{
	long long ready = 0, database_up = 0;
	const char *reason = NULL;
	char json[200];

	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_slot *s = &w->start.shm->slots[i];
		if (atomic_load(&s->state) != SLOT_READY)
			continue;
		ready++;
		database_up += atomic_load(&s->database_up) == 1;
	}
	if (atomic_load(&w->start.shm->stopping))
		reason = "draining";
	else if (atomic_load(&w->start.shm->jwks_mode) && atomic_load(&w->start.shm->jwks_keys) < 0)
		reason = "no_signing_keys";
	else if (!ready)
		reason = "no_worker_ready";
	else if (!database_up)
		reason = "database_unavailable";
	if (reason)
		snprintf(json, sizeof(json), "{\"status\":\"not_ready\",\"reason\":\"%s\","
		         "\"workers_ready\":%lld,\"database_up\":%lld}", reason, ready, database_up);
	else
		snprintf(json, sizeof(json), "{\"status\":\"ready\",\"workers_ready\":%lld,"
		         "\"database_up\":%lld}", ready, database_up);
	health_body(resp, reason ? 503 : 200, json);
	snprintf(resp->outcome, sizeof(resp->outcome), "%s", reason ? reason : "ready");
}
