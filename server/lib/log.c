/*
 * log.c - structured JSON logging on stderr, one line per event.
 * Runs in every process. Each line is written with a single write(2) so lines
 * from master and workers never interleave mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/lib/log.h"

static const char *log_role = "cli";
static enum log_level log_min = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *role, enum log_level min_level)
{
	log_role = role;
	log_min = min_level;
}

void log_set_level(enum log_level min_level)
{
	log_min = min_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_escape(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = *len;
	if (n + 2 >= cap)
		return;
	buf[n++] = '"';
	for (; *s && n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n++] = '"';
	*len = n;
}

void log_json(enum log_level lvl, const char *func, const char *extra_json,
              const char *fmt, ...)
{
	char msg[2048], line[4096];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (size_t)snprintf(line, sizeof(line),
	    "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
	    "\"role\":\"%s\",\"pid\":%d,\"func\":\"%s\",\"msg\":",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], log_role,
	    (int)getpid(), func);
	log_escape(line, sizeof(line) - 4, &n, msg);
	if (extra_json && *extra_json && n + strlen(extra_json) + 3 < sizeof(line)) {
		line[n++] = ',';
		memcpy(line + n, extra_json, strlen(extra_json));
		n += strlen(extra_json);
	}
	line[n++] = '}';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void fatal(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_json(LOG_ERROR, "fatal", NULL, "%s", msg);
	exit(1);
}
