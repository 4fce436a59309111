#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addrlimit.h"
#include "cache.h"
#include "capsule.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "tls.h"
#include "worker.h"

/* Most workers a config may ask for. */
#define SERVER_WORKERS_MAX	64

/* A worker that dies sooner than this after starting is not restarted at
 * once, so a crash at start-up cannot turn into a fork loop. */
#define SERVER_RESPAWN_SECONDS	1

/* One configuration in force: what its workers share. */
struct generation {
	struct config		 cfg;
	struct tls_site		*site_v;	/* one per vhost, with its
						   SSL_CTX */
	struct tls_sites	 sites;
	struct serve_vhost	*vhosts;	/* one per vhost */
	const char		**hosts;	/* every vhost's names */
	struct gemini_policy	 policy;
	int			 nworkers;
	size_t			 nper;		/* listeners per worker */
	struct worker_listener	*listeners;	/* nworkers * nper */
	unsigned short		*ports;		/* bound port of each of nper */
};

/*
 * The session-ticket secret: made once per server, kept across reloads so
 * tickets issued before a SIGHUP still resume after it.
 */
static unsigned char	s_ticket_secret[TLS_TICKET_SECRET_LEN];

/*
 * The per-address counts every worker shares: mapped once before the
 * first fork, kept across reloads so that a SIGHUP forgets no client.
 */
static struct addrlimit	*s_addrlimit;

struct server_worker {
	pid_t		 pid;		/* 0: slot waiting to be (re)started */
	int		 slot;
	struct generation *gen;
	time_t		 started;
	bool		 retired;	/* replaced, draining */
};

struct server {
	const struct server_opts	*opts;
	struct generation		*gen;		/* the current one */
	struct server_worker		 workers[SERVER_WORKERS_MAX * 2];
	size_t				 nworkers;
	bool				 stopping;
};

static void
server_vhosts_free(struct generation *g)
{
	struct serve_vhost	*sv;
	size_t			 i, j;

	for (i = 0; g->vhosts != NULL && i < g->cfg.nvhosts; i++) {
		sv = &g->vhosts[i];
		capsule_close(&sv->capsule);
		for (j = 0; sv->ca != NULL && j < sv->cfg->npaths; j++)
			X509_STORE_free(sv->ca[j]);
		free(sv->ca);
	}
	free(g->vhosts);
	g->vhosts = NULL;
}

static void
server_gen_free(struct generation *g)
{
	size_t	i, n;

	if (g == NULL)
		return;
	n = (size_t)g->nworkers * g->nper;
	for (i = 0; g->listeners != NULL && i < n; i++)
		if (g->listeners[i].fd != -1)
			close(g->listeners[i].fd);
	free(g->listeners);
	free(g->ports);
	free(g->hosts);
	server_vhosts_free(g);
	for (i = 0; g->site_v != NULL && i < g->cfg.nvhosts; i++)
		SSL_CTX_free(g->site_v[i].ctx);
	free(g->site_v);
	config_free(&g->cfg);
	free(g);
}

static int
server_online_cpus(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > SERVER_WORKERS_MAX ? SERVER_WORKERS_MAX : (int)n;
}

/* Every name of every vhost: the hosts requests may name. */
static int
server_gen_hosts(struct generation *g, struct buf *err)
{
	const struct config_vhost	*vh;
	size_t				 i, j, n = 0;

	for (i = 0; i < g->cfg.nvhosts; i++)
		n += 1 + g->cfg.vhosts[i].naliases;
	if ((g->hosts = mem_calloc(n, sizeof(*g->hosts))) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0, n = 0; i < g->cfg.nvhosts; i++) {
		vh = &g->cfg.vhosts[i];
		g->hosts[n++] = vh->hostname;
		for (j = 0; j < vh->naliases; j++)
			g->hosts[n++] = vh->aliases[j];
	}
	g->policy.hosts = g->hosts;
	g->policy.nhosts = n;
	return 0;
}

static bool
server_needs_client_cert(const struct config_vhost *vh)
{
	size_t	i;

	for (i = 0; i < vh->npaths; i++)
		if (vh->paths[i].client_cert)
			return true;
	return false;
}

/*
 * One TLS context per vhost, its certificate generated when missing, all
 * with the same ticket keys; the names for SNI are slices of g->hosts.
 */
static int
server_gen_certs(struct generation *g, struct buf *err)
{
	const struct config_vhost	*vh;
	struct tls_site			*site;
	size_t				 i, names = 0;
	int				 made;

	g->site_v = mem_calloc(g->cfg.nvhosts, sizeof(*g->site_v));
	if (g->site_v == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; i < g->cfg.nvhosts; i++) {
		vh = &g->cfg.vhosts[i];
		site = &g->site_v[i];
		made = tls_ensure_cert(vh->cert, vh->key, vh->hostname, err);
		if (made == -1)
			return -1;
		if (made == 1)
			log_info("generated a self-signed ECDSA P-256 "
			    "certificate for %s: %s (key %s)", vh->hostname,
			    vh->cert, vh->key);
		if ((site->ctx = tls_ctx_new(vh->cert, vh->key, err)) == NULL)
			return -1;
		/* A shared file lets instances behind one balancer resume. */
		tls_ctx_set_ticket_secret(site->ctx,
		    g->cfg.ticket_secret != NULL ? g->cfg.ticket_secret :
		    s_ticket_secret, TLS_TICKET_ROTATE_SECONDS);
		site->names = &g->hosts[names];
		site->nnames = 1 + vh->naliases;
		site->ask_cert = server_needs_client_cert(vh);
		names += site->nnames;
	}
	if (g->cfg.ticket_key != NULL)
		log_info("session-ticket keys derived from %s",
		    g->cfg.ticket_key);
	g->sites.v = g->site_v;
	g->sites.n = g->cfg.nvhosts;
	tls_sites_attach(&g->sites);
	return 0;
}

/* The CA store of each rule that names one, loaded before any chroot. */
static int
server_load_cas(struct serve_vhost *sv, struct buf *err)
{
	const struct config_path	*pr;
	size_t				 i;

	for (i = 0; i < sv->cfg->npaths; i++) {
		pr = &sv->cfg->paths[i];
		if (pr->client_ca == NULL)
			continue;
		if (sv->ca == NULL && (sv->ca = mem_calloc(sv->cfg->npaths,
		    sizeof(*sv->ca))) == NULL) {
			buf_printf(err, "out of memory");
			return -1;
		}
		if ((sv->ca[i] = tls_ca_load(pr->client_ca, err)) == NULL)
			return -1;
	}
	return 0;
}

static int
server_gen_vhosts(struct generation *g, struct buf *err)
{
	struct serve_vhost	*sv;
	size_t			 i;

	g->vhosts = mem_calloc(g->cfg.nvhosts, sizeof(*g->vhosts));
	if (g->vhosts == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; i < g->cfg.nvhosts; i++)
		g->vhosts[i].capsule.rootfd = -1;
	for (i = 0; i < g->cfg.nvhosts; i++) {
		sv = &g->vhosts[i];
		sv->cfg = &g->cfg.vhosts[i];
		if (capsule_open(&sv->capsule, sv->cfg->root, err) == -1 ||
		    server_load_cas(sv, err) == -1)
			return -1;
	}
	return 0;
}

/* The address as written in messages: "*" is every address. */
static const char *
server_host_name(const struct config_listen *cl)
{
	return cl->host != NULL ? cl->host : "*";
}

static bool
server_same_host(const struct config_listen *a, const struct config_listen *b)
{
	if (a->host == NULL || b->host == NULL)
		return a->host == b->host;
	return strcmp(a->host, b->host) == 0;
}

/* The listener of index k in the config order: Gemini ones, then Gopher. */
static const struct config_listen *
server_listen_at(const struct config *cfg, size_t k, enum worker_proto *proto)
{
	if (k < cfg->ngemini) {
		*proto = WORKER_GEMINI;
		return &cfg->gemini[k];
	}
	*proto = WORKER_GOPHER;
	return &cfg->gopher[k - cfg->ngemini];
}

/*
 * A plain bind first: SO_REUSEPORT would let us share a port with another
 * capsuled already running as the same user, and silently split its
 * traffic.  The probe also turns port 0 into a concrete free port.
 */
static int
server_probe(const struct addrinfo *ai, unsigned short *port,
    struct buf *err, const char *what)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);
	int			fd, one = 1;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		buf_printf(err, "%s: socket: %s", what, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		buf_printf(err, "cannot listen on %s: %s", what,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return 0;
}

static int
server_bind_one(const struct addrinfo *ai, unsigned short port,
    struct buf *err, const char *what)
{
	struct sockaddr_storage	ss;
	int			fd, one = 1;

	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		buf_printf(err, "%s: socket: %s", what, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) == -1 ||
	    listen(fd, SERVER_BACKLOG) == -1) {
		buf_printf(err, "cannot listen on %s: %s", what,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reuse the old generation's socket for the same address and slot. */
static int
server_take_old(struct generation *old, enum worker_proto proto,
    const struct config_listen *cl, int slot, unsigned short *port)
{
	const struct config_listen	*ol;
	enum worker_proto		 op;
	size_t				 k;
	int				 fd;

	if (old == NULL || slot >= old->nworkers)
		return -1;
	for (k = 0; k < old->nper; k++) {
		ol = server_listen_at(&old->cfg, k, &op);
		if (op != proto || ol->port != cl->port ||
		    !server_same_host(ol, cl))
			continue;
		fd = old->listeners[(size_t)slot * old->nper + k].fd;
		if (fd == -1)
			continue;
		old->listeners[(size_t)slot * old->nper + k].fd = -1;
		*port = old->ports[k];
		return fd;
	}
	return -1;
}

static int
server_bind_listener(struct generation *g, struct generation *old, size_t k,
    struct buf *err)
{
	const struct config_listen	*cl;
	enum worker_proto		 proto;
	struct addrinfo			 hints, *ai;
	char				 what[300], portstr[8];
	unsigned short			 port = 0;
	int				 slot, fd, gai;

	cl = server_listen_at(&g->cfg, k, &proto);
	snprintf(what, sizeof(what), "%s%s%s:%u (%s)",
	    strchr(server_host_name(cl), ':') ? "[" : "", server_host_name(cl),
	    strchr(server_host_name(cl), ':') ? "]" : "", cl->port,
	    proto == WORKER_GEMINI ? "gemini" : "gopher");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", cl->port);
	if ((gai = getaddrinfo(cl->host, portstr, &hints, &ai)) != 0) {
		buf_printf(err, "cannot listen on %s: %s", what,
		    gai_strerror(gai));
		return -1;
	}
	for (slot = 0; slot < g->nworkers; slot++) {
		fd = server_take_old(old, proto, cl, slot, &port);
		if (fd == -1 && port == 0 &&
		    server_probe(ai, &port, err, what) == -1)
			break;
		if (fd == -1 && (fd = server_bind_one(ai, port, err, what)) == -1)
			break;
		g->listeners[(size_t)slot * g->nper + k].fd = fd;
		g->listeners[(size_t)slot * g->nper + k].proto = proto;
		g->listeners[(size_t)slot * g->nper + k].proxy =
		    cl->proxy_protocol;
	}
	freeaddrinfo(ai);
	g->ports[k] = port;
	return slot == g->nworkers ? 0 : -1;
}

static int
server_gen_listeners(struct generation *g, struct generation *old,
    struct buf *err)
{
	size_t	k, n;

	g->nper = g->cfg.ngemini + g->cfg.ngopher;
	n = (size_t)g->nworkers * g->nper;
	g->listeners = mem_calloc(n, sizeof(*g->listeners));
	g->ports = mem_calloc(g->nper, sizeof(*g->ports));
	if (g->listeners == NULL || g->ports == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (k = 0; k < n; k++)
		g->listeners[k].fd = -1;
	for (k = 0; k < g->nper; k++)
		if (server_bind_listener(g, old, k, err) == -1)
			return -1;
	/* Port 0 in the config means "any": the URL check uses the real one. */
	if (g->cfg.gemini_port == 0 && g->cfg.ngemini > 0)
		g->cfg.gemini_port = g->ports[0];
	/* Without a Gopher port, menus point at the Gemini port's fallback. */
	if (g->cfg.gopher_port == 0)
		g->cfg.gopher_port = g->cfg.ngopher > 0 ?
		    g->ports[g->cfg.ngemini] : g->cfg.gemini_port;
	g->policy.port = g->cfg.gemini_port;
	return 0;
}

static struct generation *
server_gen_new(const struct server *s, struct buf *err)
{
	struct generation	*g;

	if ((g = mem_calloc(1, sizeof(*g))) == NULL) {
		buf_printf(err, "out of memory");
		return NULL;
	}
	config_init(&g->cfg);
	if (s->opts->load(&g->cfg, err, s->opts->load_arg) == -1 ||
	    log_configure(&g->cfg, s->opts->foreground, err) == -1)
		goto fail;
	g->nworkers = g->cfg.workers > 0 ? g->cfg.workers :
	    server_online_cpus();
	if (g->nworkers > SERVER_WORKERS_MAX)
		g->nworkers = SERVER_WORKERS_MAX;
	if (server_gen_hosts(g, err) == -1 ||
	    server_gen_certs(g, err) == -1 ||
	    server_gen_vhosts(g, err) == -1 ||
	    server_gen_listeners(g, s->gen, err) == -1)
		goto fail;
	return g;
fail:
	server_gen_free(g);
	return NULL;
}

static void
server_log_ready(const struct generation *g, const char *verb)
{
	char	line[1024];
	size_t	k, n = 0;

	for (k = 0; k < g->nper && n < sizeof(line) - 100; k++) {
		enum worker_proto		 p;
		const struct config_listen	*cl;

		cl = server_listen_at(&g->cfg, k, &p);
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    "%s%s on %s%s%s:%u", k ? ", " : "",
		    p == WORKER_GEMINI ? "gemini" : "gopher",
		    strchr(server_host_name(cl), ':') ? "[" : "",
		    server_host_name(cl),
		    strchr(server_host_name(cl), ':') ? "]" : "", g->ports[k]);
	}
	for (k = 1; k < g->cfg.nvhosts; k++)
		log_info("vhost %s: capsule %s", g->cfg.vhosts[k].hostname,
		    g->cfg.vhosts[k].root);
	log_info("%s: %s; capsule %s; %d workers", verb, line,
	    g->cfg.vhosts[0].root, g->nworkers);
}

/*
 * Started as root, a worker gives it up before it touches a client: into
 * the chroot (the capsule stays reachable through its open descriptor),
 * then to the configured user, and checks that root cannot come back.
 * Any failure ends the worker: serving as root by accident is worse.
 */
static void
server_drop_privileges(const struct config *cfg)
{
	struct passwd	*pw = NULL;

	if (geteuid() != 0) {
		if (cfg->chroot != NULL)
			fatalx("chroot %s needs capsuled to start as root",
			    cfg->chroot);
		return;
	}
	if (cfg->user == NULL) {
		log_warnx("running as root: set user in the config");
		return;
	}
	if ((pw = getpwnam(cfg->user)) == NULL)
		fatalx("user %s does not exist: create it, or change user",
		    cfg->user);
	if (cfg->chroot != NULL &&
	    (chroot(cfg->chroot) == -1 || chdir("/") == -1))
		fatal("chroot %s", cfg->chroot);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot drop to user %s", cfg->user);
	if (setuid(0) != -1)
		fatalx("root privileges could be regained after dropping them");
}

static void
server_worker_child(struct generation *g, int slot)
{
	struct worker_setup	ws;
	struct cache		cache;
	sigset_t		none;
	char			role[32];
	int			rc;

	/*
	 * Reload and log rotation are the parent's business: a hang-up must
	 * not end a worker, and one in a chroot that reopened its logs by
	 * name would lose them (the parent replaces workers instead).
	 */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(role, sizeof(role), "worker %d", slot);
	log_set_role(role);
	server_drop_privileges(&g->cfg);
	memset(&ws, 0, sizeof(ws));
	ws.slot = slot;
	/* Every handshake starts on the default vhost; SNI moves it. */
	ws.ssl_ctx = g->site_v[0].ctx;
	ws.serve.policy = &g->policy;
	ws.serve.vhosts = g->vhosts;
	ws.serve.nvhosts = g->cfg.nvhosts;
	ws.serve.capsule = &g->vhosts[0].capsule;
	ws.serve.lang = g->cfg.vhosts[0].lang;
	ws.serve.hostname = g->cfg.vhosts[0].hostname;
	ws.serve.gopher_host = g->cfg.gopher_hostname != NULL ?
	    g->cfg.gopher_hostname : g->cfg.vhosts[0].hostname;
	ws.serve.gopher_port = g->cfg.gopher_port;
	cache_init(&cache, CACHE_DEFAULT_MAX);
	ws.serve.cache = &cache;
	ws.listeners = &g->listeners[(size_t)slot * g->nper];
	ws.nlisteners = g->nper;
	ws.handshake_timeout = g->cfg.handshake_timeout;
	ws.request_timeout = g->cfg.request_timeout;
	ws.write_timeout = g->cfg.write_timeout;
	ws.max_connections = g->cfg.max_connections;
	ws.proxy_from = g->cfg.proxy_from;
	ws.nproxy_from = g->cfg.nproxy_from;
	ws.addrlimit = s_addrlimit;
	addrlimit_policy_from(&ws.limits, &g->cfg);
	rc = worker_run(&ws);
	cache_free(&cache);
	exit(rc);
}

static int
server_spawn(struct server *s, struct server_worker *sw)
{
	pid_t	pid;

	if ((pid = fork()) == -1) {
		log_warn("fork");
		sw->pid = 0;
		return -1;
	}
	if (pid == 0)
		server_worker_child(sw->gen, sw->slot);
	(void)s;
	sw->pid = pid;
	sw->started = time(NULL);
	return 0;
}

static int
server_start_workers(struct server *s, struct generation *g)
{
	struct server_worker	*sw;
	int			 slot;

	for (slot = 0; slot < g->nworkers; slot++) {
		if (s->nworkers == sizeof(s->workers) / sizeof(s->workers[0])) {
			log_warnx("too many workers still draining");
			return -1;
		}
		sw = &s->workers[s->nworkers++];
		sw->slot = slot;
		sw->gen = g;
		sw->retired = false;
		if (server_spawn(s, sw) == -1)
			return -1;
	}
	return 0;
}

static void
server_signal_gen(struct server *s, struct generation *g, int sig)
{
	size_t	i;

	for (i = 0; i < s->nworkers; i++)
		if (s->workers[i].pid > 0 && (g == NULL || s->workers[i].gen == g))
			kill(s->workers[i].pid, sig);
}

static void
server_forget(struct server *s, size_t i)
{
	s->workers[i] = s->workers[--s->nworkers];
}

static void
server_log_exit(const struct server_worker *sw, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("worker %d (pid %ld) killed by signal %d", sw->slot,
		    (long)sw->pid, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		log_warnx("worker %d (pid %ld) exited with status %d",
		    sw->slot, (long)sw->pid, WEXITSTATUS(status));
	else
		log_debug("worker %d (pid %ld) exited", sw->slot,
		    (long)sw->pid);
}

static void
server_reap(struct server *s)
{
	pid_t	pid;
	int	status;
	size_t	i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i].pid == pid)
				break;
		if (i == s->nworkers)
			continue;
		server_log_exit(&s->workers[i], status);
		/* It may have died holding connection counts. */
		if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
			addrlimit_repair(s_addrlimit);
		if (s->stopping || s->workers[i].gen != s->gen ||
		    s->workers[i].retired) {
			server_forget(s, i);
			continue;
		}
		log_warnx("restarting worker %d", s->workers[i].slot);
		if (time(NULL) - s->workers[i].started < SERVER_RESPAWN_SECONDS)
			s->workers[i].pid = 0;	/* on the next tick */
		else
			server_spawn(s, &s->workers[i]);
	}
}

static void
server_respawn_waiting(struct server *s)
{
	size_t	i;

	for (i = 0; i < s->nworkers; i++)
		if (s->workers[i].pid == 0 && !s->stopping)
			server_spawn(s, &s->workers[i]);
}

static void
server_log_lines(const struct buf *err, const char *prefix)
{
	struct span	s = buf_span(err);
	long		nl;

	while (s.n > 0) {
		nl = span_index(s, '\n');
		if (nl == -1)
			nl = (long)s.n;
		if (nl > 0)
			log_warnx("%s%.*s", prefix, (int)nl, s.p);
		s.p += nl + ((size_t)nl < s.n ? 1 : 0);
		s.n -= (size_t)nl + ((size_t)nl < s.n ? 1 : 0);
	}
}

static void
server_reload(struct server *s)
{
	struct generation	*g, *old = s->gen;
	struct buf		 err;

	log_info("reloading the configuration");
	buf_init(&err, 64 * 1024);
	if ((g = server_gen_new(s, &err)) == NULL) {
		server_log_lines(&err, "");
		log_warnx("reload failed: still serving the previous "
		    "configuration");
		buf_free(&err);
		return;
	}
	buf_free(&err);
	s->gen = g;
	if (server_start_workers(s, g) == -1)
		log_warnx("not every new worker started");
	/* The old workers finish what they are serving, then exit. */
	server_signal_gen(s, old, SIGTERM);
	server_gen_free(old);
	server_log_ready(g, "reloaded");
}

/*
 * SIGUSR1, after logrotate moved the log files: reopen them here, then
 * replace the workers, which inherit the new descriptors.  Workers cannot
 * reopen by name themselves: in a chroot, or as an unprivileged user, the
 * log directory is out of their reach.  The old workers finish their
 * requests first, as on a reload.
 */
static void
server_reopen_logs(struct server *s)
{
	size_t	i, n = s->nworkers;

	log_info("reopening the log files");
	log_reopen();
	/* A slot waiting to be restarted gets its new worker below. */
	for (i = n; i > 0; i--)
		if (s->workers[i - 1].pid == 0)
			server_forget(s, i - 1);
	n = s->nworkers;
	for (i = 0; i < n; i++)
		if (s->workers[i].gen == s->gen)
			s->workers[i].retired = true;
	if (server_start_workers(s, s->gen) == -1)
		log_warnx("not every new worker started");
	for (i = 0; i < n; i++)
		if (s->workers[i].retired && s->workers[i].pid > 0)
			kill(s->workers[i].pid, SIGTERM);
	log_info("log files reopened");
}

static void
server_stop(struct server *s, int sig)
{
	sigset_t	set;
	struct timespec	ts = { 1, 0 };
	time_t		deadline;

	log_info("received signal %d: finishing in-flight requests", sig);
	s->stopping = true;
	server_signal_gen(s, NULL, SIGTERM);
	deadline = time(NULL) + 30 + SERVER_KILL_GRACE;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	while (s->nworkers > 0 && time(NULL) < deadline) {
		server_reap(s);
		if (s->nworkers > 0)
			sigtimedwait(&set, NULL, &ts);
	}
	server_signal_gen(s, NULL, SIGKILL);
	while (s->nworkers > 0 && waitpid(-1, NULL, 0) > 0)
		server_reap(s);
	log_info("stopped");
}

static void
server_raise_fd_limit(void)
{
	struct rlimit	rl;
	rlim_t		before;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	before = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("raised the open-file limit from %llu to %llu",
		    (unsigned long long)before,
		    (unsigned long long)rl.rlim_max);
}

static void
server_loop(struct server *s)
{
	sigset_t	set;
	struct timespec	ts = { SERVER_RESPAWN_SECONDS, 0 };
	int		sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &ts);
		switch (sig) {
		case SIGCHLD:
			server_reap(s);
			break;
		case SIGHUP:
			server_reload(s);
			break;
		case SIGUSR1:
			server_reopen_logs(s);
			break;
		case SIGTERM:
		case SIGINT:
			server_stop(s, sig);
			return;
		default:
			server_reap(s);
			server_respawn_waiting(s);
			break;
		}
	}
}

int
server_run(const struct server_opts *opts)
{
	struct server	*s;
	struct buf	 err;
	sigset_t	 set;

	/* Signals are taken synchronously in the loop, never in handlers. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	server_raise_fd_limit();
	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		fatalx("out of memory");
	if (tls_ticket_secret_new(s_ticket_secret) == -1)
		fatalx("cannot make a session-ticket secret: %s",
		    tls_error_string());
	if ((s_addrlimit = addrlimit_new(ADDRLIMIT_SLOTS)) == NULL)
		fatal("cannot map the per-address table");
	s->opts = opts;
	buf_init(&err, 64 * 1024);
	if ((s->gen = server_gen_new(s, &err)) == NULL) {
		server_log_lines(&err, "");
		buf_free(&err);
		free(s);
		addrlimit_free(s_addrlimit);
		return 1;
	}
	buf_free(&err);
	if (!opts->foreground && daemon(1, 0) == -1)
		fatal("daemon");
	if (server_start_workers(s, s->gen) == -1)
		log_warnx("not every worker started");
	server_log_ready(s->gen, "ready");
	server_loop(s);
	server_gen_free(s->gen);
	free(s);
	addrlimit_free(s_addrlimit);
	return 0;
}
