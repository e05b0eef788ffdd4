/*
 * privsep.h - dropping root: the one path by which the master and the key
 * manager give up privileges after opening what needs root.
 */
#ifndef MCPI_PRIVSEP_H
#define MCPI_PRIVSEP_H

#include <stddef.h>

/* When running as root and user is set: switch groups and uid to user and
 * verify root cannot be regained; then forbid core dumps and ptrace by the
 * same user (the process holds keys). 0 on success, -1 with err set. */
int privsep_drop(const char *user, char *err, size_t errlen);

#endif
