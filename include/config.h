/*
 * config: capsuled.yaml, read with libyaml, into struct config.  Errors say
 * "file:line:col: what is wrong, what to write instead" so an operator can
 * fix them without reading the source.  No logging here: errors are
 * returned in a buffer and the caller prints them.
 */
#ifndef CAPSULED_CONFIG_H
#define CAPSULED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "proxy.h"

/* Longest config file we read. */
#define CONFIG_FILE_MAX		(1024 * 1024)

/* Deepest nesting of YAML mappings and lists accepted (the schema uses 7). */
#define CONFIG_DEPTH_MAX	8

/* Errors one load reports before it stops reading. */
#define CONFIG_ERRORS_MAX	10

/* Most entries in aliases, in each listen list and in paths. */
#define CONFIG_LIST_MAX		64

/*
 * Most virtual hosts: each costs a TLS context and a root descriptor per
 * worker, and every handshake looks its SNI name up among all of them.
 */
#define CONFIG_VHOSTS_MAX	256

/* Most entries in one types mapping, searched on every file served. */
#define CONFIG_TYPES_MAX	256

/* Longest media type or charset accepted: both go into the 20 header. */
#define CONFIG_MIME_MAX		127
#define CONFIG_CHARSET_MAX	40

/* Longest file extension in a types mapping. */
#define CONFIG_EXT_MAX		16

/* Bytes of a SHA-256 certificate fingerprint. */
#define CONFIG_FINGERPRINT_LEN	32

/* Most workers; 0 means one per online CPU. */
#define CONFIG_WORKERS_MAX	64

/* Range of every timeout, in seconds. */
#define CONFIG_TIMEOUT_MIN	1
#define CONFIG_TIMEOUT_MAX	3600

/* Most connections one worker may hold. */
#define CONFIG_CONNECTIONS_MAX	100000

/*
 * Built-in limits per client address (an IPv4 address or an IPv6 /64),
 * generous enough for a household or an office behind one address.
 * Connections open at once: one address holding every descriptor.
 */
#define CONFIG_PER_ADDRESS_DEFAULT	32
/* Requests per window: a crawler or a script hammering the capsule. */
#define CONFIG_RATE_DEFAULT		60
#define CONFIG_RATE_WINDOW_DEFAULT	60

/* Ranges of limits.rate and limits.rate_window (seconds). */
#define CONFIG_RATE_MAX			1000000
#define CONFIG_RATE_WINDOW_MAX		86400

/* The Gemini listener a config file without gemini.listen gets. */
#define CONFIG_GEMINI_LISTEN	"*:1965"

/*
 * Who may send PROXY headers when proxy_from is not set: loopback only, so
 * that a HAProxy on the same host works and nobody else can claim to be
 * someone they are not.
 */
#define CONFIG_PROXY_FROM	{ "127.0.0.0/8", "::1" }

/* Where certificates live when tls.certdir is not set. */
#define CONFIG_CERTDIR		"certs"

/*
 * One listening address: host is an IPv4 address, an IPv6 address without
 * brackets or a name, or NULL for "*" (every address, as getaddrinfo's
 * AI_PASSIVE gives them).  Port 0 asks the kernel for a free port.
 */
struct config_listen {
	char		*host;
	unsigned short	 port;
	bool		 proxy_protocol; /* a PROXY v1/v2 header comes first */
};

/*
 * Where a key or an entry was written, for the checks made after the
 * parse; line 0 when it came from the command line or a default.
 */
struct config_mark {
	unsigned long	line;
	unsigned long	col;
};

/* File extensions (lower case, no dot) and the media types they mean. */
struct config_type {
	char		*ext;
	char		*mime;
};

struct config_types {
	struct config_type	*v;
	size_t			 n;
};

/*
 * One path rule of a vhost: the first rule whose prefix or glob matches
 * the request path decides.  Fields left NULL fall back to the vhost's.
 */
struct config_path {
	char			*prefix;	/* "/dir/", or NULL */
	char			*glob;		/* fnmatch pattern, or NULL */
	char			*redirect;	/* target, or NULL */
	int			 redirect_status; /* 30 or 31 */
	char			*lang;
	char			*charset;	/* for text/ media types */
	char			*default_type;	/* for unknown extensions */
	struct config_types	 types;
	/* A client certificate is required: signed by client_ca, or one of
	 * the fingerprints (SHA-256 of the DER form). */
	bool			 client_cert;
	char			*client_ca;	/* PEM file, or NULL */
	unsigned char		(*fingerprints)[CONFIG_FINGERPRINT_LEN];
	size_t			 nfingerprints;
	struct config_mark	 at;		/* the entry */
	struct config_mark	 ca_at;
	/*
	 * An upload rule: only titan:// requests see it (reads skip it),
	 * and they are accepted under it once client_cert lets them in and
	 * the token, when set, matches.
	 */
	bool			 titan;
	char			*titan_token;	/* or NULL: none asked */
	unsigned int		 titan_max_size; /* bytes */
	struct config_mark	 titan_at;
};

/* One served name: its hostname, the names it also answers to, content. */
struct config_vhost {
	char			*hostname;
	char			**aliases;
	size_t			 naliases;
	char			*root;		/* the capsule directory */
	char			*cert;		/* PEM certificate path */
	char			*key;		/* PEM private key path */
	char			*lang;		/* "lang=" on text/gemini */
	char			*charset;	/* for text/ media types */
	char			*default_type;	/* for unknown extensions */
	struct config_types	 types;
	struct config_path	*paths;		/* in the order written */
	size_t			 npaths;
	struct config_mark	 at;		/* the vhosts entry, line 0 for
						   the top-level one */
	struct config_mark	 hostname_at;
	struct config_mark	*aliases_at;	/* one per alias */
	struct config_mark	 root_at;
};

enum config_log_dest {
	CONFIG_LOG_STDERR,		/* "-" */
	CONFIG_LOG_FILE,		/* a path */
	CONFIG_LOG_SYSLOG,		/* "syslog" */
	CONFIG_LOG_OFF			/* "off" (access log only) */
};

/* What an access-log line looks like (see capsuled.yaml(5)). */
enum config_log_format {
	CONFIG_LOG_FORMAT_DEFAULT,	/* capsuled's own, every field */
	CONFIG_LOG_FORMAT_COMMON,	/* NCSA Common Log Format */
	CONFIG_LOG_FORMAT_COMBINED	/* NCSA Combined Log Format */
};

/* How client addresses are written in the logs. */
enum config_log_ip {
	CONFIG_LOG_IP_FULL,		/* as they are, with the port */
	CONFIG_LOG_IP_ANONYMIZE,	/* IPv4 /24, IPv6 /48, no port */
	CONFIG_LOG_IP_OFF		/* "-" */
};

struct config_log {
	enum config_log_dest	 dest;
	char			*path;	/* for CONFIG_LOG_FILE */
};

struct config {
	char			*file;		/* where it was read, or NULL */
	struct config_vhost	*vhosts;	/* vhosts[0] is the default */
	size_t			 nvhosts;
	struct config_listen	*gemini;	/* Gemini listeners */
	size_t			 ngemini;
	struct config_listen	*gopher;	/* Gopher listeners, or none */
	size_t			 ngopher;
	/* Public name in menus; config_finish copies vhosts[0]'s when NULL. */
	char			*gopher_hostname;
	/*
	 * Public ports: gopher_port is written in menus, gemini_port checked
	 * in request URLs.  config_finish fills a 0 from the first listener
	 * (gopher_port from gemini_port when there is no Gopher listener);
	 * one still 0 then names a port-0 listener, known after binding.
	 */
	unsigned short		 gopher_port;
	unsigned short		 gemini_port;
	/* Where missing certificates are generated; NULL = CONFIG_CERTDIR. */
	char			*certdir;
	struct config_mark	 certdir_at;
	int			 workers;	/* 0 = one per online CPU */
	struct config_log	 access_log;
	struct config_log	 error_log;
	bool			 debug;		/* log at debug level */
	enum config_log_format	 log_format;	/* of the access log */
	enum config_log_ip	 log_ip;
	char			*user;		/* drop to this user as root */
	char			*chroot;	/* chroot workers, or NULL */
	unsigned int		 handshake_timeout;	/* seconds */
	unsigned int		 request_timeout;	/* seconds */
	unsigned int		 write_timeout;		/* seconds */
	unsigned int		 max_connections;	/* per worker */
	/*
	 * Who may send PROXY headers to a proxy_protocol listener; a
	 * connection from anyone else there is refused.  config_finish puts
	 * CONFIG_PROXY_FROM here when the file gives none.
	 */
	struct proxy_net	*proxy_from;
	size_t			 nproxy_from;
	/*
	 * tls.ticket_key: the file and its TLS_TICKET_SECRET_LEN bytes, read
	 * (and checked) when the config is loaded; NULL when not set, and
	 * the server makes a random secret instead.
	 */
	char			*ticket_key;
	unsigned char		*ticket_secret;
	/* limits: per client address, shared by all workers; 0 is off. */
	unsigned int		 max_per_address;	/* open connections */
	unsigned int		 rate;		/* requests per rate_window */
	unsigned int		 rate_window;	/* seconds */
	struct proxy_net	*exempt;	/* addresses never limited */
	size_t			 nexempt;
};

/*
 * Fill cfg with the built-in defaults: no vhost and no listener yet
 * (config_load, the config_set_ functions and config_finish add them),
 * both logs to syslog, timeouts 10/10/30 s, 1024 connections per worker,
 * the CONFIG_*_DEFAULT limits per address and no address exempt.
 * Every pointer field is owned by cfg.
 */
void	config_init(struct config *cfg);

/*
 * Read path into cfg (which must come from config_init).  Returns 0, or -1
 * with err holding one or more lines "file:line:col: message" (the
 * position of the offending node) and cfg left as it was.  Lines are
 * separated by '\n', with none after the last.  On success everything cfg
 * held before is replaced.
 */
int	config_load(struct config *cfg, const char *path, struct buf *err);

/*
 * What config_load does once the file is in memory: parse text (at most
 * CONFIG_FILE_MAX bytes) as the config named name (used in messages and
 * kept in cfg->file).  Returns 0 or -1 as config_load.
 */
int	config_load_mem(struct config *cfg, const char *name,
	    struct span text, struct buf *err);

/*
 * Parse "ADDRESS:PORT", "[IPv6]:PORT" or "*:PORT" (PORT 0 to 65535) into
 * out (out->host is allocated, or NULL for "*"; proxy_protocol is false).
 * Returns 0, or -1 with *reason a static phrase that follows the quoted
 * address in a message ("has no port").
 */
int	config_parse_listen(struct span s, struct config_listen *out,
	    const char **reason);

/*
 * Replace the Gemini (gopher false) or Gopher listeners with the one
 * address addr, as -g and -G do.  Returns 0, or -1 with a message
 * appended to err and cfg unchanged.
 */
int	config_set_listen(struct config *cfg, bool gopher, const char *addr,
	    struct buf *err);

/* Like config_set_listen, but add addr to the list instead. */
int	config_add_listen(struct config *cfg, bool gopher, const char *addr,
	    struct buf *err);

/* Set the default vhost's hostname (-H); 0, or -1 with err set. */
int	config_set_hostname(struct config *cfg, const char *name,
	    struct buf *err);

/* Set the default vhost's capsule directory; 0, or -1 with err set. */
int	config_set_root(struct config *cfg, const char *path,
	    struct buf *err);

/* Set where missing certificates are generated (-d); 0 or -1. */
int	config_set_certdir(struct config *cfg, const char *path,
	    struct buf *err);

/* Set the worker count from its decimal text (-w N); 0 or -1. */
int	config_set_workers(struct config *cfg, const char *n,
	    struct buf *err);

/*
 * Finish a config: create the default vhost when there is none (hostname
 * "localhost"), give it its defaults (certdir CONFIG_CERTDIR, cert and key
 * under certdir named after the hostname), fill the public ports and the
 * Gopher hostname, and check what needs the whole picture (a Gemini
 * listener, a root, cert and key both set or both derived, no address
 * used twice, port 0 aside).  Messages read "file: what, and the fix".
 * Returns 0 or -1 with err set.
 */
int	config_finish(struct config *cfg, struct buf *err);

/*
 * What config_finish cannot see from the text alone: every root is a
 * directory, the certificate directory exists or can be made (its parent
 * exists), every client_cert CA file is readable.  Called after
 * config_finish, by capsuled -n and before serving.  Messages read
 * "file:line:col: what, and the fix".  Returns 0 or -1 with err set.
 */
int	config_check_files(const struct config *cfg, struct buf *err);

/* Free everything cfg owns and leave it as config_init made it. */
void	config_free(struct config *cfg);

#endif
