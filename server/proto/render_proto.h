/*
 * render_proto.h - the messages between a worker and a renderer over their
 * SOCK_SEQPACKET socketpair. Each message is one fixed-size typed header;
 * its payload (the document data one way, the PDF the other) travels in a
 * sealed memfd attached as SCM_RIGHTS, so no message is ever split and the
 * worker never copies a large body through a socket buffer. The receiver
 * checks the header's size and type, the payload's declared size against
 * the memfd's real size and a maximum, and the seals, before any copy.
 * Used by workers and renderers.
 */
#ifndef MCPI_RENDER_PROTO_H
#define MCPI_RENDER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define RENDER_MAX_INPUT (32u << 20)   /* document data, with its attachment */
#define RENDER_MAX_ATTACHMENT (8u << 20) /* an invoice's or credit note's Factur-X XML */
#define RENDER_MAX_OUTPUT (256u << 20) /* one PDF */
#define RENDER_ERROR_MAX 200

/* What a document is: chosen by the tool, laid out by the renderer. */
enum doc_kind { DOC_NONE = 0, DOC_STATEMENT = 1, DOC_INVOICE = 2, DOC_CREDIT_NOTE = 3 };

/* RENDER_CANCEL (worker to renderer, no payload): the caller of request
 * id was answered or has gone; the renderer stops it at its next page. */
enum render_msg_type { RENDER_REQUEST = 1, RENDER_REPLY = 2, RENDER_CANCEL = 3 };

struct render_msg {
	uint32_t type;
	uint32_t len;    /* sizeof(struct render_msg) */
	uint32_t id;     /* chosen by the worker, echoed in the reply */
	uint32_t kind;   /* enum doc_kind */
	uint64_t size;   /* payload bytes in the attached memfd; 0 = none attached */
	/* request: the last `attachment` bytes of the payload are the
	 * document's CII XML, to embed as factur-x.xml (DOC_INVOICE and
	 * DOC_CREDIT_NOTE only; the document JSON is the size - attachment
	 * bytes before it); 0 = none. */
	uint64_t attachment;
	int32_t status;  /* reply: 0 = rendered, -1 = refused (error says why) */
	uint32_t pages;  /* reply: pages in the PDF */
	char error[RENDER_ERROR_MAX]; /* reply: NUL-terminated reason when refused */
};

/* Sends m with data (len bytes, len 0 = none) in a new sealed memfd;
 * m->len and m->size are filled. 0, or -1 with errno (EAGAIN: the peer's
 * queue is full). */
int render_msg_send(int chan, struct render_msg *m, const void *data, size_t len);

/* Receives one message of type want. Returns 1 with *m and, when it
 * carries a payload, *data (*len bytes: with map a read-only mapping of
 * the memfd, else a malloc'd NUL-terminated copy; the caller frees it with
 * render_payload_free), 0 on EOF, -1 with errno: EAGAIN (nothing yet) or EPROTO (a
 * malformed message, a payload over max or whose memfd is unsealed or of
 * another size, an attachment larger than its payload or than
 * RENDER_MAX_ATTACHMENT, or on any message but an invoice or credit note request;
 * it is dropped). */
int render_msg_recv(int chan, uint32_t want, size_t max, int map, struct render_msg *m,
                    unsigned char **data, size_t *len);
void render_payload_free(unsigned char *data, size_t len, int mapped);

#endif
