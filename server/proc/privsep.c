/*
 * privsep.c - drop root privileges in a fixed order (see privsep.h). Runs in
 * the master at start-up and in each key manager after it has read the key.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "server/proc/privsep.h"

int privsep_drop(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (geteuid() == 0 && user && *user) {
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen, "user %s does not exist", user);
			return -1;
		}
		if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0) {
			snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
			return -1;
		}
		if (setuid(0) == 0) {
			snprintf(err, errlen, "privileges were not dropped (could regain root)");
			return -1;
		}
	}
	/* Keys are in memory from here on: no core dumps, and no ptrace or
	 * /proc/PID/mem reads by other processes of the same user. Children
	 * inherit this across fork. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return -1;
	}
	return 0;
}
