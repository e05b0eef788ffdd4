/*
 * log.h - one JSON object per line on stderr, for journald.
 * Used by every process (master and workers). Never pass tokens or keys.
 */
#ifndef MCPI_LOG_H
#define MCPI_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the role tag ("master", "worker", "cli") and minimum level. */
void log_init(const char *role, enum log_level min_level);
void log_set_level(enum log_level min_level);
int log_level_parse(const char *s, enum log_level *out);

/* msg is escaped; extra_json, if not NULL, is a pre-rendered list of
 * `"key":value` members appended to the object (caller guarantees JSON). */
void log_json(enum log_level lvl, const char *func, const char *extra_json,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_json(LOG_DEBUG, __func__, NULL, __VA_ARGS__)
#define log_info(...)  log_json(LOG_INFO, __func__, NULL, __VA_ARGS__)
#define log_warn(...)  log_json(LOG_WARN, __func__, NULL, __VA_ARGS__)
#define log_error(...) log_json(LOG_ERROR, __func__, NULL, __VA_ARGS__)

/* Start-up failures and broken invariants only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Appends s as a JSON string (with quotes) into buf[*len..cap). */
void log_escape(char *buf, size_t cap, size_t *len, const char *s);

#endif
