/*
 * gliblog.h - GLib's log messages (pango, cairo's GLib users, fontconfig
 * through pango) as the server's JSON log lines instead of GLib's default
 * text on stderr. Runs in the renderer.
 */
#ifndef MCPI_GLIBLOG_H
#define MCPI_GLIBLOG_H

/* Routes every GLib log message of this process through log.c; call once,
 * first thing in main. */
void gliblog_to_json(void);

#endif
