/* Unit tests for worker/metrics.c: labels come only from fixed names (a
 * client's method or tool name never becomes a label), HTTP-level refusals
 * are labelled by status, histograms are cumulative, and a replaced
 * worker's CPU time stays counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/shm.h"
#include "worker/metrics.h"

static struct response answered(const char *method, const char *tool, const char *outcome, int status)
{
	struct response r;

	response_init(&r);
	r.status = status;
	snprintf(r.rpc_method, sizeof(r.rpc_method), "%s", method);
	snprintf(r.tool, sizeof(r.tool), "%s", tool);
	snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
	return r;
}

static char *render(struct worker_ctx *w)
{
	struct response out;
	char *text;

	response_init(&out);
	metrics_render(w, &out);
	text = strndup(out.body, out.body_len);
	response_reset(&out);
	return text;
}

static void test_labels_are_fixed_names(void **state)
{
	struct worker_ctx w = { .start.shm = shm_create() };
	struct response r;
	char *text;
	(void)state;

	r = answered("tools/call", "get_invoice", "NOT_FOUND", 200);
	metrics_observe(&w, &r, 2000);
	metrics_observe(&w, &r, 2000);
	r = answered("tools/call", "evil\"} 1\nfake_metric 9", "rpc_error_32602", 200);
	metrics_observe(&w, &r, 100);
	r = answered("x/made-up", "", "rpc_error_32601", 200);
	metrics_observe(&w, &r, 100);
	r = answered("", "", "rpc_error_32600", 413);
	metrics_observe(&w, &r, 100);
	r = answered("ping", "", "something new", 200);
	metrics_observe(&w, &r, 100);
	text = render(&w);
	assert_non_null(strstr(text, "mcpi_mcp_requests_total{method=\"tools/call\",tool=\"get_invoice\","
	                             "outcome=\"NOT_FOUND\"} 2\n"));
	assert_non_null(strstr(text, "mcpi_mcp_requests_total{method=\"tools/call\",tool=\"unknown\","
	                             "outcome=\"rpc_error_32602\"} 1\n"));
	assert_null(strstr(text, "evil"));
	assert_null(strstr(text, "fake_metric"));
	assert_non_null(strstr(text, "{method=\"other\",tool=\"\",outcome=\"rpc_error_32601\"} 1\n"));
	assert_null(strstr(text, "made-up"));
	assert_non_null(strstr(text, "{method=\"none\",tool=\"\",outcome=\"http_413\"} 1\n"));
	assert_non_null(strstr(text, "{method=\"ping\",tool=\"\",outcome=\"other\"} 1\n"));
	/* 2 ms is in the 5 ms bucket, not the 1 ms one; the sum is in seconds. */
	assert_non_null(strstr(text, "mcpi_mcp_request_duration_seconds_bucket{method=\"tools/call\","
	                             "tool=\"get_invoice\",le=\"0.001\"} 0\n"));
	assert_non_null(strstr(text, "mcpi_mcp_request_duration_seconds_bucket{method=\"tools/call\","
	                             "tool=\"get_invoice\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(text, "mcpi_mcp_request_duration_seconds_sum{method=\"tools/call\","
	                             "tool=\"get_invoice\"} 0.004000\n"));
	free(text);
	shm_destroy(w.start.shm);
}

static void test_replaced_workers_cpu_stays_counted(void **state)
{
	struct worker_ctx w = { .start.shm = shm_create() };
	int slot = shm_slot_claim(w.start.shm);
	char *text;
	(void)state;

	atomic_store(&w.start.shm->slots[slot].cpu_us, 1500000);
	atomic_store(&w.start.shm->slots[slot].rss_bytes, 7 << 20);
	shm_slot_reap(w.start.shm, slot);
	slot = shm_slot_claim(w.start.shm);
	atomic_store(&w.start.shm->slots[slot].cpu_us, 500000);
	text = render(&w);
	assert_non_null(strstr(text, "mcpi_process_cpu_seconds_total{role=\"worker\"} 2.000000\n"));
	assert_non_null(strstr(text, "mcpi_process_resident_memory_bytes{role=\"worker\"} 0\n"));
	assert_non_null(strstr(text, "mcpi_workers{state=\"starting\"} 1\n"));
	free(text);
	shm_destroy(w.start.shm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_are_fixed_names),
		cmocka_unit_test(test_replaced_workers_cpu_stays_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
