/*
 * master.h - the master process: binds the listener, creates the shared
 * segment, forks and supervises workers, accepts connections and hands each
 * to the least-loaded worker, and handles SIGHUP/SIGTERM and systemd.
 */
#ifndef MCPI_MASTER_H
#define MCPI_MASTER_H

#include "server/proc/config.h"

/* Takes ownership of cfg. Returns the process exit status. */
int master_run(struct config *cfg, const char *cfg_path);

#endif
