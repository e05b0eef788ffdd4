/*
 * renderer.c - the renderer process: lays out PDFs from document data sent
 * by workers. The master forks it and executes this separate binary, so it
 * starts from a clean address space: no database connection, no JWT key,
 * no TLS material, no configuration but what its arguments say, and an
 * empty environment. It drops privileges (when started as root with a
 * user), becomes non-dumpable, forbids new privileges, loads its pinned
 * fonts and reads the sRGB ICC profile (Factur-X invoices) once, then
 * serves one request at a time from each worker channel
 * the master hands it (IPC_RENDERCHAN on fd 3), round-robin. A request
 * that takes longer than its time budget ends the process (SIGALRM): the
 * workers fail their requests with a retryable error and the master
 * starts a new renderer.
 *
 *   mcp-invoiced-render BUDGET_MS LOG_LEVEL [USER]    (fd 3: the master channel)
 *   mcp-invoiced-render --file statement|invoice|credit_note IN.json OUT.pdf [FACTUR-X.xml]
 *     (the last: an invoice or credit note made Factur-X with that CII XML embedded)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "render/documents.h"
#include "render/facturx.h"
#include "render/fonts.h"
#include "render/gliblog.h"
#include "server/lib/file.h"
#include "server/lib/log.h"
#include "server/proc/privsep.h"
#include "server/proc/sandbox.h"
#include "server/proto/ipc.h"
#include "server/proto/render_proto.h"

#if defined(__SANITIZE_ADDRESS__)
/* The tests' sanitizer build: the renderer starts with an empty
 * environment, so its options are built in. LeakSanitizer is off here
 * only: fontconfig and pango keep their caches for the process's life. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

#define MASTER_FD 3
#define MAX_CHANNELS 512

static void budget(long ms)
{
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

/* The message waiting on fd, if it is a RENDER_CANCEL: consumed, and its
 * id returned (0: none, or another kind of message, left in place). */
static uint32_t take_cancel(int fd)
{
	struct render_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(m) || m.type != RENDER_CANCEL ||
	    m.len != sizeof(m))
		return 0;
	if (recvmsg(fd, &mh, MSG_DONTWAIT) != (ssize_t)sizeof(m))
		return 0;
	return m.id ? m.id : 0;
}

struct cancel_watch {
	int fd;
	uint32_t id;
};

/* Asked by the layout at every new page: has the worker cancelled this
 * request (its caller was answered or has gone)? */
static int cancelled(void *ctx)
{
	const struct cancel_watch *w = ctx;
	uint32_t id = take_cancel(w->fd);

	return id != 0 && id == w->id;
}

/* What serve needs from start-up. */
struct loaded {
	PangoFontMap *fonts;
	struct facturx_profile icc;
};

/* Why a request could not be read, when its header could. */
static void refusal(const struct render_msg *req, char *error, size_t cap)
{
	if (req->size > RENDER_MAX_INPUT)
		snprintf(error, cap, "document data of %llu bytes is over the renderer's limit of %u bytes",
		         (unsigned long long)req->size, RENDER_MAX_INPUT);
	else if (req->attachment > RENDER_MAX_ATTACHMENT)
		snprintf(error, cap, "a Factur-X attachment of %llu bytes is over the renderer's limit of %u bytes",
		         (unsigned long long)req->attachment, RENDER_MAX_ATTACHMENT);
	else if (req->attachment && ((req->kind != DOC_INVOICE && req->kind != DOC_CREDIT_NOTE) ||
	                             req->attachment >= req->size))
		snprintf(error, cap, "a Factur-X attachment goes only with an invoice's or a credit note's data");
	else
		snprintf(error, cap, "malformed render request");
}

/* Answers one request on fd; -1 when the worker has gone. */
static int serve(const struct loaded *ld, int fd, long budget_ms)
{
	struct render_msg req, rep;
	unsigned char *data = NULL, *pdf = NULL;
	size_t len = 0, pdf_len = 0;
	int r, pages = 0, header_ok;

	memset(&req, 0, sizeof(req));
	/* A cancel for a document already answered: nothing to do. */
	if (take_cancel(fd))
		return 0;
	r = render_msg_recv(fd, RENDER_REQUEST, RENDER_MAX_INPUT, 0, &req, &data, &len);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EPROTO))
		return -1;
	if (r < 0 && errno == EAGAIN)
		return 0;
	/* A refusal names the request it refuses whenever its header could be
	 * read, so the worker ends that document (and frees its channel). */
	header_ok = r == 1 || (req.len == sizeof(req) && req.type == RENDER_REQUEST);
	memset(&rep, 0, sizeof(rep));
	rep.type = RENDER_REPLY;
	rep.id = header_ok ? req.id : 0;
	rep.kind = header_ok ? req.kind : 0;
	rep.status = -1;
	if (r < 0) {
		if (header_ok)
			refusal(&req, rep.error, sizeof(rep.error));
		else
			snprintf(rep.error, sizeof(rep.error), "malformed render request");
		log_warn("render request %u refused: %s", rep.id, rep.error);
	} else {
		struct cancel_watch watch = { fd, req.id };
		/* The attachment is the payload's tail (render_proto.h). */
		struct facturx_embed fx = { &ld->icc, req.attachment ? data + len - req.attachment : NULL,
		                            (size_t)req.attachment };
		budget(budget_ms);
		if (documents_render(ld->fonts, (int)req.kind, (const char *)data, len - (size_t)req.attachment,
		                     req.attachment ? &fx : NULL, cancelled, &watch, &pdf, &pdf_len, &pages,
		                     rep.error, sizeof(rep.error)) == 0 && pdf_len <= RENDER_MAX_OUTPUT) {
			rep.status = 0;
			rep.pages = (uint32_t)pages;
		} else if (pdf) {
			snprintf(rep.error, sizeof(rep.error), "the PDF is larger than %u bytes", RENDER_MAX_OUTPUT);
		}
		budget(0);
	}
	if (render_msg_send(fd, &rep, rep.status == 0 ? pdf : NULL, rep.status == 0 ? pdf_len : 0) < 0)
		log_warn("cannot send a rendered document: %s", strerror(errno));
	free(data);
	free(pdf);
	return 0;
}

/* --file: kind in out [xml]; the process is not confined (a tool for
 * tests and people). */
static int render_file(int argc, char **argv)
{
	struct loaded ld = { 0 };
	struct facturx_embed fx = { &ld.icc, NULL, 0 };
	const char *kind = argv[2], *path = argv[3];
	unsigned char *json = NULL, *pdf = NULL;
	size_t n = 0, pdf_len;
	char err[256];
	int pages, rc = 1;
	FILE *f;

	if (!(ld.fonts = fonts_init(err, sizeof(err))) || (argc == 6 && facturx_profile_load(&ld.icc, err, sizeof(err)) < 0)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!(json = file_read(path, RENDER_MAX_INPUT, &n)) ||
	    (argc == 6 && !(fx.xml = file_read(path = argv[5], RENDER_MAX_ATTACHMENT, &fx.xml_len)))) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if (documents_render(ld.fonts, strcmp(kind, "invoice") == 0 ? DOC_INVOICE
	                     : strcmp(kind, "credit_note") == 0 ? DOC_CREDIT_NOTE : DOC_STATEMENT, (char *)json, n,
	                     fx.xml ? &fx : NULL, NULL, NULL, &pdf, &pdf_len, &pages, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	f = fopen(argv[4], "wb");
	if (!f || fwrite(pdf, 1, pdf_len, f) != pdf_len || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", argv[4], strerror(errno));
		goto out;
	}
	printf("%s: %d pages, %zu bytes%s\n", argv[4], pages, pdf_len, fx.xml ? ", Factur-X" : "");
	rc = 0;
out:
	free(json);
	free((void *)fx.xml);
	free(pdf);
	free(ld.icc.icc);
	return rc;
}

int main(int argc, char **argv)
{
	struct pollfd fds[MAX_CHANNELS + 1];
	int nfds = 1;
	long budget_ms;
	enum log_level lvl = LOG_INFO;
	struct loaded ld = { 0 };
	char err[256];

	gliblog_to_json();
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "--file") == 0)
		return render_file(argc, argv);
	if (argc < 3 || argc > 4 || (budget_ms = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: mcp-invoiced-render BUDGET_MS LOG_LEVEL [USER] (started by mcp-invoiced)\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "mcpi-render");
	log_level_parse(argv[2], &lvl);
	log_init("renderer", lvl);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (privsep_drop(argc == 4 ? argv[3] : NULL, err, sizeof(err)) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("%s", err);
		return 2;
	}
	ld.fonts = fonts_init(err, sizeof(err));
	if (!ld.fonts || facturx_profile_load(&ld.icc, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 2;
	}
	/* Last of the drops: the fonts are open and the ICC profile read,
	 * nothing more is needed. */
	if (sandbox_enter(SANDBOX_RENDERER, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 2;
	}
	if (ipc_send(MASTER_FD, IPC_READY, -1) < 0)
		return 2;
	fds[0] = (struct pollfd){ .fd = MASTER_FD, .events = POLLIN };
	for (;;) {
		if (poll(fds, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("renderer: poll: %s", strerror(errno));
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct ipc_msg msg;
			int fd, r;
			while ((r = ipc_recv(MASTER_FD, &msg, &fd)) == 1) {
				if (msg.type == IPC_RENDERCHAN && nfds < MAX_CHANNELS + 1)
					fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
				else if (fd >= 0)
					close(fd);
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				return 0; /* the master is gone */
		}
		for (int i = 1; i < nfds; i++) {
			if (((fds[i].revents & POLLIN) && serve(&ld, fds[i].fd, budget_ms) < 0) ||
			    (!(fds[i].revents & POLLIN) && (fds[i].revents & (POLLHUP | POLLERR)))) {
				close(fds[i].fd);
				fds[i--] = fds[--nfds];
			}
		}
	}
}
