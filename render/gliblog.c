/*
 * gliblog.c - a GLib log writer that writes through log.c (see gliblog.h).
 * Runs in the renderer. GLib's default writer prints several lines per
 * message, blank ones included ("\n(process:1): Pango-WARNING **: ..."),
 * into the log the master and workers write JSON to; this writer makes each
 * message one JSON object with role "renderer" and the GLib domain.
 */
#include <glib.h>
#include <string.h>

#include "server/lib/log.h"
#include "render/gliblog.h"

static enum log_level level_of(GLogLevelFlags flags)
{
	if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_ERROR;
	if (flags & G_LOG_LEVEL_WARNING)
		return LOG_WARN;
	if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
		return LOG_INFO;
	return LOG_DEBUG;
}

static GLogWriterOutput write_json(GLogLevelFlags flags, const GLogField *fields, gsize nfields,
                                   gpointer unused)
{
	const char *domain = "glib";
	char *message = NULL, extra[128];
	size_t n = strlen("\"domain\":");

	(void)unused;
	for (gsize i = 0; i < nfields; i++) {
		if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
			domain = fields[i].value;
		else if (strcmp(fields[i].key, "MESSAGE") == 0 && !message)
			message = fields[i].length < 0 ? g_strdup(fields[i].value)
			                               : g_strndup(fields[i].value, (gsize)fields[i].length);
	}
	memcpy(extra, "\"domain\":", n);
	log_escape(extra, sizeof(extra) - 1, &n, domain);
	extra[n] = '\0';
	log_json(level_of(flags), "glib", extra, "%s", message ? message : "");
	g_free(message);
	return G_LOG_WRITER_HANDLED;
}

void gliblog_to_json(void)
{
	g_log_set_writer_func(write_json, NULL, NULL);
}
