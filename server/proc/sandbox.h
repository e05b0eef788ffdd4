/*
 * sandbox.h - seccomp confinement per process role. Each role enters its
 * sandbox once, at the end of its start-up, after privsep_drop (see
 * privsep.h for the order); the filter cannot be lifted and is inherited
 * by every child the process forks.
 */
#ifndef MCPI_SANDBOX_H
#define MCPI_SANDBOX_H

#include <stddef.h>

/* One entry per role in sandbox.c's policy table. */
enum sandbox_role { SANDBOX_MASTER, SANDBOX_KEYMGR, SANDBOX_WORKER, SANDBOX_RENDERER, SANDBOX_JWKS,
                    SANDBOX_ROLES };

/* Installs role's filter on the calling process: a system call the role
 * must never make (execve, ptrace, listen, ...) kills the process with
 * SIGSYS; one that is merely not on the role's list fails with EPERM.
 * 0, or -1 with err set. */
int sandbox_enter(enum sandbox_role role, char *err, size_t errlen);

/* The master only, before it enters its sandbox: the programs it may
 * still execute are the files open at the fds given here (O_PATH: the
 * renderer binary, the JWKS fetcher binary; at most 4), by execveat(fd,
 * "", ..., AT_EMPTY_PATH), i.e. fexecve. Every other execve or execveat
 * kills, as in every role. */
void sandbox_allow_exec_fd(int fd);

/* Test builds only (MCPI_TEST_HOOKS): when MCPI_TEST_FORBIDDEN names
 * this role ("worker:execve", "keymgr:socket", ...), make that call now,
 * from inside the sandbox, and log what happened. A no-op otherwise, and
 * absent from release builds. */
void sandbox_test_hook(enum sandbox_role role);

#endif
