/*
 * json_get.h - typed member access on json-c objects: one place for "the
 * string member, or NULL" and "the integer member, or 0". Used by workers
 * (token claims, tool arguments).
 */
#ifndef MCPI_JSON_GET_H
#define MCPI_JSON_GET_H

#include <json-c/json.h>

/* The member's string (owned by obj), or NULL if absent or not a string. */
const char *json_get_string(json_object *obj, const char *name);

/* The member's integer value, or 0 if absent. */
long long json_get_int(json_object *obj, const char *name);

#endif
