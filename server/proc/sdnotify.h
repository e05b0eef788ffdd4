/*
 * sdnotify.h - the systemd notify protocol (READY=1, RELOADING=1,
 * STOPPING=1, WATCHDOG=1) without linking libsystemd. Master only.
 */
#ifndef MCPI_SDNOTIFY_H
#define MCPI_SDNOTIFY_H

/* Sends state to $NOTIFY_SOCKET; a no-op (returning 0) when unset. */
int sd_notify_send(const char *state);

/* Half of $WATCHDOG_USEC in milliseconds, or 0 when no watchdog is set. */
long sd_watchdog_interval_ms(void);

#endif
