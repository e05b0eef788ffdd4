/*
 * entry.h - the entry points one role calls in another role's code, all
 * linked into the one binary: the master starts a worker with worker_main
 * (in the forked child); the command line prints the tool table with
 * tools_markdown and the statement table with db_statements_print.
 * Nothing else of worker/ is visible to server/.
 */
#ifndef MCPI_ENTRY_H
#define MCPI_ENTRY_H

#include <openssl/ssl.h>
#include <stdio.h>

struct auth_keys;
struct config;
struct cursor_key;
struct shm_segment;

/* What a new worker is handed by the master. */
struct worker_start {
	const struct config *cfg;
	struct shm_segment *shm;
	int slot;
	int channel_fd;  /* SOCK_SEQPACKET to the master */
	int keymgr_fd;   /* SOCK_SEQPACKET to this generation's key manager */
	SSL_CTX *tls;
	struct auth_keys *keys;
	const struct cursor_key *cursor_key;
};

/* Runs the worker's event loop until drained; never returns. */
void worker_main(const struct worker_start *start) __attribute__((noreturn));

/* The README's tool table, markdown, malloc'd (`mcp-invoiced tools`). */
char *tools_markdown(void);

/* The statements a worker prepares, "name\tsql" lines (`mcp-invoiced statements`). */
void db_statements_print(FILE *out);

#endif
