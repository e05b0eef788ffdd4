/*
 * sandbox.c - seccomp filters per process role (see sandbox.h), built
 * with libseccomp from the policy table below. Runs in the master (once,
 * before it forks the first worker), in each key manager, in each worker
 * and in each PDF renderer (at the end of their start-up).
 *
 * A filter is inherited across fork and filters stack, so a child can
 * only narrow what its parent allows: the master's list therefore covers
 * what its children need before they narrow it (workers and key managers
 * are forked from the confined master). Every role:
 *   - is killed (SIGSYS, reported by the master) by the calls no role may
 *     make: execve, ptrace, process_vm_*, listen, bind, mount, setuid and
 *     the other identity, module, namespace and kernel calls below (the
 *     master alone keeps execveat of the renderer binary it opened at
 *     start-up, see sandbox_allow_exec_fd; a renderer it restarts runs
 *     under the master's filter until it narrows it to its own);
 *   - gets EPERM for any other call not on its list (a library taking a
 *     path we did not foresee fails softly instead of taking the server
 *     down; the kernel's audit log names the call).
 * Adding a role is one policy entry (its name and its allowed calls).
 *
 * Sanitizer builds (ASan/LSan) also allow what LeakSanitizer needs to stop
 * the world when it checks for leaks (a ptrace-attached tracer thread),
 * decided at compile time: release builds never contain that list.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/proc/sandbox.h"

/* Calls that kill any role. */
static const char *const forbidden[] = {
#if !defined(__SANITIZE_ADDRESS__)
	"ptrace",
#endif
	"execve", "execveat", "process_vm_readv", "process_vm_writev", "listen", "bind",
	"mount", "umount2", "pivot_root", "chroot", "setuid", "setgid", "setreuid", "setregid",
	"setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "capset", "init_module",
	"finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
	"unshare", "setns", "personality", "keyctl", "add_key", "request_key", "userfaultfd",
	"io_uring_setup", "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime",
	"adjtimex", "iopl", "ioperm", "quotactl", "open_by_handle_at", "name_to_handle_at",
	"fanotify_init", "lookup_dcookie", "vhangup", "syslog", "uselib", "sethostname",
	"setdomainname", "mbind", "move_pages", "migrate_pages",
};

/* Every role: memory, time, signals, exit, plain I/O on descriptors it
 * holds, and the SOCK_SEQPACKET messages of the IPC. */
static const char *const common[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat", "newfstatat",
	"statx", "lseek", "mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "rt_sigaction",
	"rt_sigprocmask", "rt_sigreturn", "sigaltstack", "getpid", "gettid", "getppid", "getuid",
	"geteuid", "getgid", "getegid", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "gettimeofday", "time", "exit", "exit_group", "futex", "getrandom", "poll",
	"ppoll", "fcntl", "getrusage", "restart_syscall", "tgkill", "rseq", "set_robust_list",
	"sched_yield", "recvmsg", "sendmsg", "recvfrom", "sendto", "shutdown", "prlimit64",
	"getrlimit", "uname", "sysinfo", "seccomp",
};

/* The worker: its epoll loop, TLS, the key manager proxy, libpq (Unix or
 * TCP sockets, name lookups, TLS to the database, files it reads such as
 * .pgpass or certificates) and the short-lived child that sends PQcancel.
 * Never accepts, listens or makes socket pairs. */
static const char *const worker_calls[] = {
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "signalfd4", "socket", "connect",
	"getsockopt", "setsockopt", "getsockname", "getpeername", "openat", "access", "faccessat",
	"faccessat2", "readlink", "getdents64", "dup", "dup2", "dup3", "ioctl", "clone", "wait4",
	"sendmmsg", "recvmmsg", "pipe2", "sched_getaffinity", "getcwd", "memfd_create", "ftruncate",
};

/* The key manager: poll over its channels, receive requests, sign,
 * answer. No files, no new sockets, no children. */
static const char *const keymgr_calls[] = {
	NULL,
};

/* The master: supervision (fork, wait, signals), accept and hand over
 * sockets, the notify socket, reloads (configuration, certificates and
 * keys re-read, descriptor limit raised), plus what the workers and key
 * managers it forks need before they narrow it (their lists). */
static const char *const master_calls[] = {
	"accept4", "socketpair", "kill", "setrlimit", "sched_getaffinity", "getdents64",
	"umask", "rename", "renameat", "renameat2", "fsync", "unlink", "unlinkat",
};

/* The PDF renderer (its own binary): poll its channels, receive a
 * document in a sealed memfd, lay it out with cairo and pango (memory,
 * font files already pinned and opened read-only, glib's wake-up eventfd),
 * answer with a sealed memfd, and its own time budget (setitimer). No
 * sockets, no children. */
static const char *const renderer_calls[] = {
	"memfd_create", "ftruncate", "setitimer", "getitimer", "openat", "access", "faccessat",
	"faccessat2", "readlink", "statfs", "fstatfs", "getdents64", "eventfd2", "sched_getaffinity",
	"set_tid_address", "dup", "dup2", "dup3", "getcwd", "ioctl", "getpeername", "getsockname",
	/* glib's worker thread (pango/fontconfig start one) */
	"clone", "clone3",
	/* the dynamic loader, when a restarted renderer executes under the
	 * master's filter before it installs this one */
	"arch_prctl",
};

/* The JWKS fetcher (its own binary): one HTTPS GET at a time with
 * libcurl: sockets and connect (the socket domains are limited to
 * AF_UNIX/INET/INET6), name resolution (the resolver's thread and its
 * wake-up socket pair, /etc/hosts and resolv.conf read-only, DNS over
 * UDP), the CA bundle, and the sealed memfd of its answer. No children,
 * no listening, nothing of the database or the TLS key. */
static const char *const jwks_calls[] = {
	"socket", "connect", "getsockopt", "setsockopt", "getsockname", "getpeername", "sendmmsg",
	"recvmmsg", "openat", "access", "faccessat", "faccessat2", "readlink", "getdents64", "statfs",
	"fstatfs", "ioctl", "clone", "clone3", "set_tid_address", "socketpair", "pipe2", "eventfd2",
	"memfd_create", "ftruncate", "sched_getaffinity", "getcwd", "dup", "dup2", "dup3", "arch_prctl",
};

/* Sanitizer builds: LeakSanitizer's stop-the-world (a tracer thread that
 * ptrace-attaches to the others) and the report writer. */
#if defined(__SANITIZE_ADDRESS__)
static const char *const sanitizer_calls[] = {
	"ptrace", "clone", "wait4", "sched_getaffinity", "getdents", "getdents64", "open", "openat", "readlink",
	"pipe2", "dup2", "dup3", "waitid", "mincore", "kill",
};
#endif

struct sandbox_policy {
	const char *name;
	const char *const *calls;
	size_t ncalls;
	int sockets;  /* may create AF_UNIX/AF_INET/AF_INET6 sockets */
	int parent;   /* forks the other roles: also allows all their calls */
};

/* One entry per role (a new role, e.g. a renderer forked by the master:
 * its enum value in sandbox.h, its list above, one line here). */
#define LIST(a) a, sizeof(a) / sizeof(a[0])
static const struct sandbox_policy policies[SANDBOX_ROLES] = {
	[SANDBOX_MASTER] = { "master", LIST(master_calls), 1, 1 },
	[SANDBOX_KEYMGR] = { "keymgr", LIST(keymgr_calls), 0, 0 },
	[SANDBOX_WORKER] = { "worker", LIST(worker_calls), 1, 0 },
	[SANDBOX_RENDERER] = { "renderer", LIST(renderer_calls), 0, 0 },
	[SANDBOX_JWKS] = { "jwks", LIST(jwks_calls), 1, 0 },
};
#undef LIST

static int add_calls(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n,
                     char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int nr, rc;
		if (!names[i])
			continue;
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call on this architecture */
		/* The socket domains are checked by their own rules. */
		if (nr == seccomp_syscall_resolve_name("socket") && action == SCMP_ACT_ALLOW)
			continue;
		rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "seccomp rule for %s: %s", names[i], strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static int allow_sockets(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const int domains[] = { AF_UNIX, AF_INET, AF_INET6 };

	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]));
		if (rc < 0) {
			snprintf(err, errlen, "seccomp rule for socket: %s", strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* A role's calls; for the parent, every role's (its children inherit its
 * filter before they narrow it). */
static int allow_role(scmp_filter_ctx ctx, const struct sandbox_policy *p, char *err, size_t errlen)
{
	int sockets = p->sockets;

	if (add_calls(ctx, SCMP_ACT_ALLOW, p->calls, p->ncalls, err, errlen) < 0)
		return -1;
	for (int r = 0; p->parent && r < SANDBOX_ROLES; r++) {
		if (add_calls(ctx, SCMP_ACT_ALLOW, policies[r].calls, policies[r].ncalls, err, errlen) < 0)
			return -1;
		sockets |= policies[r].sockets;
	}
	return sockets ? allow_sockets(ctx, err, errlen) : 0;
}

/* prctl only for what start-up and libseccomp do: name the process, ask
 * for SIGTERM when the parent dies, stay non-dumpable (never become
 * dumpable again), and set no_new_privs before a filter is stacked.
 * (Sanitizer builds allow every prctl: LeakSanitizer makes the process
 * dumpable while its tracer runs.) */
static int allow_prctl(scmp_filter_ctx ctx, char *err, size_t errlen)
{
#if defined(__SANITIZE_ADDRESS__)
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 0);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp rule for prctl: %s", strerror(-rc));
		return -1;
	}
	return 0;
#else
	static const int options[] = { PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_DUMPABLE,
	                               PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP };
	int rc = 0;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]) && rc >= 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)options[i]));
	if (rc >= 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 2,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)PR_SET_DUMPABLE),
		                      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)0));
	if (rc < 0) {
		snprintf(err, errlen, "seccomp rule for prctl: %s", strerror(-rc));
		return -1;
	}
	return 0;
#endif
}

static int exec_fds[4];
static int n_exec_fds;

void sandbox_allow_exec_fd(int fd)
{
	if (fd >= 0 && n_exec_fds < (int)(sizeof(exec_fds) / sizeof(exec_fds[0])))
		exec_fds[n_exec_fds++] = fd;
}

/* execveat of the exec_fds themselves (AT_EMPTY_PATH): the renderer and
 * JWKS fetcher binaries only. Any other execveat matches no rule: EPERM
 * (execve still kills). */
static int allow_exec_fd(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	for (int i = 0; i < n_exec_fds; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execveat), 2,
		                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)exec_fds[i]),
		                          SCMP_A4(SCMP_CMP_EQ, (scmp_datum_t)AT_EMPTY_PATH));
		if (rc < 0) {
			snprintf(err, errlen, "seccomp rule for execveat: %s", strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int sandbox_enter(enum sandbox_role role, char *err, size_t errlen)
{
	const struct sandbox_policy *p = &policies[role];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int may_exec = role == SANDBOX_MASTER && n_exec_fds > 0;
	int rc = -1;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* The master that starts renderers keeps execveat of their binary
	 * (its children that exec inherit this filter and the renderer then
	 * narrows it); the kill rule for execveat is left out for it alone. */
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (!(may_exec && strcmp(forbidden[i], "execveat") == 0) &&
		    add_calls(ctx, SCMP_ACT_KILL_PROCESS, &forbidden[i], 1, err, errlen) < 0)
			goto out;
	if ((may_exec && allow_exec_fd(ctx, err, errlen) < 0) ||
	    add_calls(ctx, SCMP_ACT_ALLOW, common, sizeof(common) / sizeof(common[0]), err, errlen) < 0 ||
	    allow_role(ctx, p, err, errlen) < 0 || allow_prctl(ctx, err, errlen) < 0)
		goto out;
#if defined(__SANITIZE_ADDRESS__)
	if (add_calls(ctx, SCMP_ACT_ALLOW, sanitizer_calls,
	              sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]), err, errlen) < 0)
		goto out;
#endif
	/* The kernel logs every refusal (audit type 1326: role, syscall
	 * number), so an EPERM a library did not expect can be found. Older
	 * kernels lack the flag: then refusals are silent. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	rc = seccomp_load(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "seccomp_load (%s): %s", p->name, strerror(-rc));
		rc = -1;
		goto out;
	}
	log_debug("seccomp policy %s installed", p->name);
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

#if defined(MCPI_TEST_HOOKS)
void sandbox_test_hook(enum sandbox_role role)
{
	const char *want = getenv("MCPI_TEST_FORBIDDEN");
	const char *name = policies[role].name;
	size_t n = strlen(name);
	int rc;

	if (!want || strncmp(want, name, n) != 0 || want[n] != ':')
		return;
	want += n + 1;
	log_warn("test hook: calling %s inside the %s sandbox", want, name);
	if (strcmp(want, "execve") == 0) {
		char *const argv[] = { "/bin/true", NULL };
		rc = execve("/bin/true", argv, NULL);
	} else if (strcmp(want, "listen") == 0) {
		rc = listen(0, 1);
	} else if (strcmp(want, "socket") == 0) {
		rc = socket(AF_INET, SOCK_STREAM, 0);
	} else if (strcmp(want, "socketpair") == 0) {
		int sv[2];
		rc = socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	} else {
		return;
	}
	log_warn("test hook: %s returned %d (%s)", want, rc, rc < 0 ? strerror(errno) : "allowed");
}
#else
void sandbox_test_hook(enum sandbox_role role)
{
	(void)role;
}
#endif
