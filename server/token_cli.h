/*
 * token_cli.h - the `token` command: mint an HS256 token for development
 * and tests with the configured secret. CLI process only.
 */
#ifndef MCPI_TOKEN_CLI_H
#define MCPI_TOKEN_CLI_H

#include "server/proc/config.h"

/* Prints the token on stdout; returns the exit status. */
int token_mint(const struct config *cfg, const char *sub, const char *tenant,
               const char *scope, long ttl_s);

#endif
