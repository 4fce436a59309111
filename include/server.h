/*
 * server: the parent process.  It loads certificates, opens the capsule
 * and every listener, forks the workers and supervises them: a worker that
 * dies is replaced, SIGHUP reloads (an invalid config keeps the old one
 * serving), SIGTERM and SIGINT drain in-flight requests and exit 0.  The
 * parent never touches client bytes.
 */
#ifndef CAPSULED_SERVER_H
#define CAPSULED_SERVER_H

#include <stdbool.h>

#include "buf.h"
#include "config.h"

/* Backlog of each listening socket. */
#define SERVER_BACKLOG		1024

/* Extra time, beyond a worker's own grace, before it is killed. */
#define SERVER_KILL_GRACE	5

/*
 * Build a finished config (file, command-line overrides, config_finish)
 * into cfg, which comes from config_init.  Called at start and on SIGHUP.
 * Returns 0, or -1 with err holding "file:line:col: ..." lines.
 */
typedef int	(*server_load_fn)(struct config *cfg, struct buf *err,
		    void *arg);

struct server_opts {
	bool		 foreground;	/* stay attached, log to stderr */
	server_load_fn	 load;
	void		*load_arg;
};

/*
 * Run until told to stop.  Returns the process exit status: 0 after a
 * clean stop, 1 when start-up failed (the reason is logged).
 */
int	server_run(const struct server_opts *opts);

#endif
