#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "mem.h"
#include "worker.h"

/* How long a stopping worker waits for in-flight requests, in seconds. */
#define WORKER_DRAIN_GRACE	30

struct worker {
	struct event_base		*base;
	const struct worker_setup	*setup;
	struct event			**accept_ev;	/* one per listener */
	struct event			*resume_ev;	/* after EMFILE */
	struct event			*sigterm_ev;
	struct event			*sigint_ev;
	struct event			*grace_ev;
	struct event			*flush_ev;	/* access lines */
	unsigned int			 live;		/* open connections */
	bool				 paused;	/* not accepting now */
	bool				 draining;	/* stopping */
	time_t				 last_emfile_log;
	time_t				 last_full_log;
};

struct event_base *
worker_base(struct worker *w)
{
	return w->base;
}

const struct worker_setup *
worker_setup(struct worker *w)
{
	return w->setup;
}

static void
worker_pause(struct worker *w)
{
	size_t	i;

	if (w->paused)
		return;
	for (i = 0; i < w->setup->nlisteners; i++)
		event_del(w->accept_ev[i]);
	w->paused = true;
}

static void
worker_resume(struct worker *w)
{
	size_t	i;

	if (!w->paused || w->draining)
		return;
	for (i = 0; i < w->setup->nlisteners; i++)
		event_add(w->accept_ev[i], NULL);
	w->paused = false;
}

void
worker_conn_closed(struct worker *w)
{
	w->live--;
	if (w->draining && w->live == 0)
		event_base_loopbreak(w->base);
	else if (w->live < w->setup->max_connections &&
	    !event_pending(w->resume_ev, EV_TIMEOUT, NULL))
		worker_resume(w);
}

/*
 * Out of descriptors: accepting again at once would spin the loop, so stop
 * for a moment and let connections finish.
 */
static void
worker_backoff(struct worker *w)
{
	struct timeval	tv = { 0, WORKER_EMFILE_PAUSE_MS * 1000 };
	time_t		now = time(NULL);

	if (now != w->last_emfile_log) {
		log_warn("accept");
		w->last_emfile_log = now;
	}
	worker_pause(w);
	evtimer_add(w->resume_ev, &tv);
}

/*
 * At limits.connections: stop accepting until one closes; new clients
 * wait in the kernel's queue meanwhile.
 */
static void
worker_full(struct worker *w)
{
	time_t	now = time(NULL);

	if (w->last_full_log == 0 ||
	    now - w->last_full_log >= WORKER_FULL_LOG_SECONDS) {
		log_warnx("%u connections open, limits.connections reached: "
		    "new ones wait", w->live);
		w->last_full_log = now;
	}
	worker_pause(w);
}

static void
worker_on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_resume(arg);
}

static void
worker_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct worker			*w = arg;
	const struct worker_listener	*l = NULL;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	size_t				 i;
	int				 cfd, n;

	(void)what;
	for (i = 0; i < w->setup->nlisteners; i++)
		if (w->setup->listeners[i].fd == fd)
			l = &w->setup->listeners[i];
	for (n = 0; n < WORKER_ACCEPT_BATCH && l != NULL; n++) {
		if (w->live >= w->setup->max_connections) {
			worker_full(w);
			return;
		}
		sslen = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				worker_backoff(w);
			else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		w->live++;
		conn_start(w, cfd, (struct sockaddr *)&ss, sslen, l->proto,
		    l->proxy);
	}
}

static void
worker_on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	log_warnx("%u connections still open after %d s, exiting", w->live,
	    WORKER_DRAIN_GRACE);
	event_base_loopbreak(w->base);
}

static void
worker_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tv = { WORKER_DRAIN_GRACE, 0 };
	size_t		 i;

	(void)sig;
	(void)what;
	if (w->draining)
		return;
	worker_pause(w);
	w->draining = true;
	/* Closing the listeners lets the parent's next workers take over. */
	for (i = 0; i < w->setup->nlisteners; i++)
		close(w->setup->listeners[i].fd);
	if (w->live == 0) {
		event_base_loopbreak(w->base);
		return;
	}
	evtimer_add(w->grace_ev, &tv);
}

/*
 * Below every other event: the kept access lines are written once the
 * loop has nothing more urgent, or when the batch fills under load.
 */
#define WORKER_PRIORITIES	3
#define WORKER_PRIO_FLUSH	2

static void
worker_on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

static void
worker_log_pending(void *arg)
{
	struct worker	*w = arg;

	event_active(w->flush_ev, EV_TIMEOUT, 0);
}

static int
worker_events(struct worker *w)
{
	size_t	i;

	w->accept_ev = mem_calloc(w->setup->nlisteners, sizeof(*w->accept_ev));
	if (w->accept_ev == NULL)
		return -1;
	for (i = 0; i < w->setup->nlisteners; i++) {
		w->accept_ev[i] = event_new(w->base, w->setup->listeners[i].fd,
		    EV_READ | EV_PERSIST, worker_on_accept, w);
		if (w->accept_ev[i] == NULL)
			return -1;
	}
	w->resume_ev = evtimer_new(w->base, worker_on_resume, w);
	w->grace_ev = evtimer_new(w->base, worker_on_grace, w);
	w->sigterm_ev = evsignal_new(w->base, SIGTERM, worker_on_stop, w);
	w->sigint_ev = evsignal_new(w->base, SIGINT, worker_on_stop, w);
	w->flush_ev = event_new(w->base, -1, 0, worker_on_flush, w);
	if (w->resume_ev == NULL || w->grace_ev == NULL ||
	    w->sigterm_ev == NULL || w->sigint_ev == NULL ||
	    w->flush_ev == NULL ||
	    event_priority_set(w->flush_ev, WORKER_PRIO_FLUSH) == -1)
		return -1;
	log_batch_access(worker_log_pending, w);
	event_add(w->sigterm_ev, NULL);
	event_add(w->sigint_ev, NULL);
	w->paused = true;
	worker_resume(w);
	return 0;
}

static void
worker_free(struct worker *w)
{
	size_t	i;

	for (i = 0; w->accept_ev != NULL && i < w->setup->nlisteners; i++)
		if (w->accept_ev[i] != NULL)
			event_free(w->accept_ev[i]);
	free(w->accept_ev);
	if (w->resume_ev != NULL)
		event_free(w->resume_ev);
	if (w->grace_ev != NULL)
		event_free(w->grace_ev);
	if (w->sigterm_ev != NULL)
		event_free(w->sigterm_ev);
	if (w->sigint_ev != NULL)
		event_free(w->sigint_ev);
	log_batch_access(NULL, NULL);
	if (w->flush_ev != NULL)
		event_free(w->flush_ev);
	if (w->base != NULL)
		event_base_free(w->base);
}

/*
 * A handshake allocates and frees some tens of KiB; with glibc's defaults
 * the heap top then moves up and down with the load, a brk call and fresh
 * zeroed pages each time.  Keeping a few MiB around costs that much RSS
 * once and saves the calls on every burst.
 */
static void
worker_tune_malloc(void)
{
	mallopt(M_TOP_PAD, WORKER_HEAP_PAD);
	mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_KEEP);
}

int
worker_run(const struct worker_setup *setup)
{
	struct worker	w;
	sigset_t	stop;
	int		rc = 0;

	memset(&w, 0, sizeof(w));
	w.setup = setup;
	signal(SIGPIPE, SIG_IGN);
	worker_tune_malloc();
	if ((w.base = event_base_new()) == NULL ||
	    event_base_priority_init(w.base, WORKER_PRIORITIES) == -1 ||
	    worker_events(&w) == -1) {
		log_warnx("cannot set up the event loop");
		rc = 1;
	} else if (event_base_dispatch(w.base) == -1) {
		log_warnx("event loop failed");
		rc = 1;
	}
	/*
	 * Freeing the signal events restores the default actions; a second
	 * SIGTERM from the parent must not turn a clean exit into a kill, so
	 * further ones stay pending until the process is gone.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	/* Leaving with clients still connected: their counts would stay. */
	if (w.live > 0)
		addrlimit_repair(setup->addrlimit);
	worker_free(&w);
	return rc;
}
