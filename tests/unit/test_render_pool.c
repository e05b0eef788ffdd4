/* Unit tests for worker/core/render.c (a worker's renderer channels and queue)
 * and server/proto/render_proto.c, with this test as the renderer on the other
 * end of a real SOCK_SEQPACKET socketpair: data over the renderer's limit
 * is refused before sending; a refusal that names another request still
 * ends the document and frees its channel; the time budget counts from
 * the moment a renderer takes a document; tenants are served fairly; an
 * invoice's Factur-X XML travels as the payload's tail, and only with an
 * invoice or a credit note. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/lib/clock.h"
#include "server/proto/render_proto.h"
#include "worker/core/render.h"

struct fixture {
	struct render_pool rp;
	int epfd, renderer; /* the test's end of the channel */
	int answered;
	char order[16];     /* the first byte of each document, in the order answered */
	struct tool_error err;
};

static void done(struct render_job *job)
{
	struct fixture *f = job->ctx;

	f->err = job->err;
	f->order[f->answered++] = job->ok ? 'k' : 'x';
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	render_init(&f->rp, f->epfd, 8, 3000);
	render_add_channel(&f->rp, sv[0]);
	f->renderer = sv[1];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	render_close(&f->rp);
	close(f->renderer);
	close(f->epfd);
	free(f);
	return 0;
}

static struct render_job *job(struct fixture *f, const char *tenant, const char *data, long long deadline)
{
	char *copy = strdup(data);

	assert_non_null(copy);
	return render_job_new(DOC_STATEMENT, copy, strlen(copy), tenant, deadline, done, f);
}

/* The fake renderer takes the request waiting on its end: its id and data. */
static uint32_t take_request(struct fixture *f, char *first)
{
	struct render_msg m;
	unsigned char *data;
	size_t len;

	assert_int_equal(render_msg_recv(f->renderer, RENDER_REQUEST, RENDER_MAX_INPUT, 0, &m, &data, &len), 1);
	*first = (char)data[0];
	render_payload_free(data, len, 0);
	return m.id;
}

static void reply(struct fixture *f, uint32_t id, int ok)
{
	struct render_msg m = { .type = RENDER_REPLY, .id = id, .status = ok ? 0 : -1, .pages = 1 };

	if (!ok)
		snprintf(m.error, sizeof(m.error), "malformed render request");
	assert_int_equal(render_msg_send(f->renderer, &m, ok ? "%PDF" : NULL, ok ? 4 : 0), 0);
	render_on_io(&f->rp, 0, EPOLLIN);
}

static int nothing_waiting(int fd)
{
	char b;
	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

static void test_data_over_the_limit_is_refused_before_sending(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	char *big = malloc(RENDER_MAX_INPUT + 2);
	struct render_job *j;

	assert_non_null(big);
	memset(big, 'a', RENDER_MAX_INPUT + 1);
	big[RENDER_MAX_INPUT + 1] = '\0';
	j = render_job_new(DOC_STATEMENT, big, RENDER_MAX_INPUT + 1, "t", clock_now_ns() + 1000000000LL, done, f);
	assert_int_equal(render_submit(&f->rp, j, &err), -1);
	assert_string_equal(err.code, "INVALID_INPUT");
	assert_int_equal(err.retryable, 0);
	assert_non_null(strstr(err.message, "period_start"));
	assert_true(nothing_waiting(f->renderer));
}

static void test_refusal_naming_no_request_frees_the_channel(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	long long deadline = clock_now_ns() + 30000000000LL;
	char first;
	uint32_t id;

	assert_int_equal(render_submit(&f->rp, job(f, "t", "a", deadline), &err), 0);
	assert_int_equal(render_submit(&f->rp, job(f, "t", "b", deadline), &err), 0);
	id = take_request(f, &first);
	assert_int_equal(first, 'a');
	assert_true(id != 0);
	reply(f, 0, 0); /* a refusal that could not read the request's id */
	assert_int_equal(f->answered, 1);
	assert_int_equal(f->order[0], 'x');
	/* The channel is free again: the next document went to it. */
	id = take_request(f, &first);
	assert_int_equal(first, 'b');
	reply(f, id, 1);
	assert_int_equal(f->answered, 2);
	assert_int_equal(f->order[1], 'k');
}

static void test_budget_counts_from_when_a_renderer_takes_it(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	long long t0 = clock_now_ns(), deadline = t0 + 30000000000LL;
	char first;
	uint32_t id;

	assert_int_equal(render_submit(&f->rp, job(f, "t", "a", deadline), &err), 0);
	assert_int_equal(render_submit(&f->rp, job(f, "t", "b", deadline), &err), 0);
	id = take_request(f, &first);
	/* The first takes most of a budget (3 s + 1 s grace); the second
	 * waited all that time in the queue, and is then given its own. */
	f->rp.sent_ns[0] -= 3500000000LL;
	reply(f, id, 1);
	id = take_request(f, &first);
	assert_int_equal(first, 'b');
	render_tick(&f->rp, clock_now_ns() + 3000000000LL);
	assert_int_equal(f->answered, 1);
	render_tick(&f->rp, clock_now_ns() + 4100000000LL);
	assert_int_equal(f->answered, 2);
	assert_string_equal(f->err.code, "TIMEOUT");
	reply(f, id, 1); /* its late reply frees the channel */
	assert_int_equal(f->answered, 2);
	assert_null(f->rp.busy[0]);
}

static void test_tenants_take_turns(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	long long deadline = clock_now_ns() + 30000000000LL;
	char first, seen[8] = { 0 };
	uint32_t id;

	for (int i = 0; i < 4; i++)
		assert_int_equal(render_submit(&f->rp, job(f, "heavy", "h", deadline), &err), 0);
	assert_int_equal(render_submit(&f->rp, job(f, "light", "l", deadline), &err), 0);
	for (int i = 0; i < 5; i++) {
		id = take_request(f, &first);
		seen[i] = first;
		reply(f, id, 1);
	}
	/* The light tenant's one document went right after the heavy
	 * tenant's first, not after all four. */
	assert_string_equal(seen, "hlhhh");
	assert_int_equal(f->answered, 5);
}

static void test_a_document_whose_caller_is_gone_is_cancelled_in_the_renderer(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	struct render_job *j = job(f, "t", "a", clock_now_ns() + 30000000000LL);
	struct render_msg m;
	unsigned char *data;
	size_t len;
	char first;
	uint32_t id;

	assert_int_equal(render_submit(&f->rp, j, &err), 0);
	id = take_request(f, &first);
	render_abandon(&f->rp, j); /* the client hung up while its PDF renders */
	assert_int_equal(render_msg_recv(f->renderer, RENDER_CANCEL, 0, 0, &m, &data, &len), 1);
	assert_int_equal(m.id, id);
	assert_int_equal(f->rp.stats.cancelled, 1);
	/* The renderer stops and answers; that frees the channel, and no
	 * done() runs for the abandoned document. */
	reply(f, id, 0);
	assert_null(f->rp.busy[0]);
	assert_int_equal(f->answered, 0);
}

static void test_refusal_of_an_oversized_request_names_it(void **state)
{
	int sv[2];
	struct render_msg m = { .type = RENDER_REQUEST, .id = 77, .kind = DOC_STATEMENT }, got;
	unsigned char *data;
	size_t len;
	char *big = calloc(1, RENDER_MAX_INPUT + 1);
	(void)state;

	assert_non_null(big);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(render_msg_send(sv[0], &m, big, RENDER_MAX_INPUT + 1), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(render_msg_recv(sv[1], RENDER_REQUEST, RENDER_MAX_INPUT, 0, &got, &data, &len), -1);
	assert_int_equal(errno, EPROTO);
	/* The header is intact: the renderer's refusal can name request 77. */
	assert_int_equal(got.id, 77);
	assert_int_equal(got.len, sizeof(got));
	assert_true(got.size > RENDER_MAX_INPUT);
	free(big);
	close(sv[0]);
	close(sv[1]);
}

static void test_an_attachment_travels_at_the_end_of_an_invoice(void **state)
{
	struct fixture *f = *state;
	struct tool_error err = { 0 };
	struct render_job *j = render_job_new(DOC_INVOICE, strdup("{\"a\":1}"), 7, "t", clock_now_ns() + 30000000000LL,
	                                      done, f);
	struct render_msg m;
	unsigned char *data;
	size_t len;

	render_job_attach(j, "<x/>", 4);
	assert_int_equal(render_submit(&f->rp, j, &err), 0);
	assert_int_equal(render_msg_recv(f->renderer, RENDER_REQUEST, RENDER_MAX_INPUT, 0, &m, &data, &len), 1);
	assert_int_equal(m.kind, DOC_INVOICE);
	assert_int_equal(m.attachment, 4);
	assert_int_equal(len, 11);
	assert_memory_equal(data, "{\"a\":1}<x/>", 11);
	render_payload_free(data, len, 0);
}

/* What the renderer refuses: an attachment on a statement, or one that is
 * the whole payload or over its limit. */
static void test_an_attachment_only_goes_with_an_invoice_or_credit_note(void **state)
{
	static const struct { uint32_t kind; size_t size; uint64_t attachment; int ok; } cases[] = {
		{ DOC_INVOICE, 10, 4, 1 }, { DOC_CREDIT_NOTE, 10, 4, 1 }, { DOC_STATEMENT, 10, 4, 0 },
		{ DOC_INVOICE, 10, 10, 0 }, { DOC_INVOICE, 10, 11, 0 },
		{ DOC_INVOICE, RENDER_MAX_ATTACHMENT + 2, RENDER_MAX_ATTACHMENT + 1, 0 },
	};
	char *payload = calloc(1, RENDER_MAX_ATTACHMENT + 2);
	(void)state;

	assert_non_null(payload);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct render_msg m = { .type = RENDER_REQUEST, .id = 5, .kind = cases[i].kind }, got;
		unsigned char *data;
		size_t len;
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		m.attachment = cases[i].attachment; /* render_msg_send keeps it */
		assert_int_equal(render_msg_send(sv[0], &m, payload, cases[i].size), 0);
		assert_int_equal(render_msg_recv(sv[1], RENDER_REQUEST, RENDER_MAX_INPUT, 0, &got, &data, &len),
		                 cases[i].ok ? 1 : -1);
		if (cases[i].ok)
			render_payload_free(data, len, 0);
		else
			assert_int_equal(errno, EPROTO);
		close(sv[0]);
		close(sv[1]);
	}
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_data_over_the_limit_is_refused_before_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_naming_no_request_frees_the_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_counts_from_when_a_renderer_takes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenants_take_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_document_whose_caller_is_gone_is_cancelled_in_the_renderer, setup,
		                                teardown),
		cmocka_unit_test(test_refusal_of_an_oversized_request_names_it),
		cmocka_unit_test_setup_teardown(test_an_attachment_travels_at_the_end_of_an_invoice, setup, teardown),
		cmocka_unit_test(test_an_attachment_only_goes_with_an_invoice_or_credit_note),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
