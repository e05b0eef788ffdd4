/*
 * json_get.c - typed member access on json-c objects (see json_get.h).
 * Pure functions; run in workers.
 */
#include "server/lib/json_get.h"

const char *json_get_string(json_object *obj, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long json_get_int(json_object *obj, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(obj, name, &v) ? json_object_get_int64(v) : 0;
}
