/*
 * privsep.h - dropping root: the one path by which the master and the key
 * manager give up privileges after opening what needs root.
 *
 * The order, in every process: (1) what needs root (bind the listener,
 * read the TLS key: key manager only), (2) privsep_drop, (3) the rest of
 * the role's start-up, (4) sandbox_enter (sandbox.h: the role's seccomp
 * filter), after which the process can neither regain root nor widen its
 * system calls. Workers inherit (1)-(2) from the master and do (3)-(4).
 */
#ifndef MCPI_PRIVSEP_H
#define MCPI_PRIVSEP_H

#include <stddef.h>

/* When running as root and user is set: switch groups and uid to user and
 * verify root cannot be regained; then forbid core dumps and ptrace by the
 * same user (the process holds keys). 0 on success, -1 with err set. */
int privsep_drop(const char *user, char *err, size_t errlen);

#endif
