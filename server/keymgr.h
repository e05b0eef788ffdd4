/*
 * keymgr.h - the key manager: the one process that holds the TLS private
 * key. Workers hold only the certificate and a proxy key whose private
 * operations (ECDSA signatures, raw RSA private operations for TLS) travel
 * over a per-worker SOCK_SEQPACKET channel to this process. Forked by the
 * master, one per worker generation.
 */
#ifndef MCPI_KEYMGR_H
#define MCPI_KEYMGR_H

#include <openssl/evp.h>

#include "server/proto/keymgr_msg.h"

struct shm_process_stats;
void keymgr_main(const char *key_file, EVP_PKEY *cert_public_key, const char *user,
                 int master_chan, struct shm_process_stats *usage) __attribute__((noreturn));

#endif
