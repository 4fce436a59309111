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

/* Longest config file we read. */
#define CONFIG_FILE_MAX		(1024 * 1024)

/* One listening address: host (IPv4, IPv6 without brackets, or a name). */
struct config_listen {
	char		*host;
	unsigned short	 port;
};

/* One served name: its hostname, the names it also answers to, content. */
struct config_vhost {
	char		*hostname;
	char		**aliases;
	size_t		 naliases;
	char		*root;		/* the capsule directory */
	char		*cert;		/* PEM certificate path */
	char		*key;		/* PEM private key path */
	char		*lang;		/* "lang=" on text/gemini, or NULL */
};

enum config_log_dest {
	CONFIG_LOG_STDERR,		/* "-" */
	CONFIG_LOG_FILE,		/* a path */
	CONFIG_LOG_SYSLOG,		/* "syslog" */
	CONFIG_LOG_OFF			/* "off" (access log only) */
};

struct config_log {
	enum config_log_dest	 dest;
	char			*path;	/* for CONFIG_LOG_FILE */
};

struct config {
	char			*file;		/* where it was read from, or NULL */
	struct config_vhost	*vhosts;	/* vhosts[0] is the default */
	size_t			 nvhosts;
	struct config_listen	*gemini;	/* Gemini listeners */
	size_t			 ngemini;
	struct config_listen	*gopher;	/* Gopher listeners (may be none) */
	size_t			 ngopher;
	char			*gopher_hostname; /* public name in menus; NULL = vhosts[0] */
	unsigned short		 gopher_port;	/* public port in menus; 0 = first listener */
	unsigned short		 gemini_port;	/* public port checked in URLs; 0 = first listener */
	char			*certdir;	/* where missing certificates are generated */
	int			 workers;	/* 0 = one per online CPU */
	struct config_log	 access_log;
	struct config_log	 error_log;
	bool			 debug;		/* log at debug level */
	char			*user;		/* drop to this user when started as root */
	char			*chroot;	/* chroot workers here (optional) */
	unsigned int		 handshake_timeout;	/* seconds */
	unsigned int		 request_timeout;	/* seconds */
	unsigned int		 write_timeout;		/* seconds */
	unsigned int		 max_connections;	/* per worker */
};

/*
 * Fill cfg with the built-in defaults (no vhost yet: the caller or
 * config_load adds it).  Every pointer field is owned by cfg.
 */
void	config_init(struct config *cfg);

/*
 * Read path into cfg (which must come from config_init).  Returns 0, or -1
 * with err holding one or more lines "file:line:col: message" (the
 * position of the offending node) and cfg left as it was.
 */
int	config_load(struct config *cfg, const char *path, struct buf *err);

/*
 * Finish a config: give the default vhost its defaults (cert and key under
 * certdir named after the hostname), fill the public ports from the first
 * listeners, and check what needs the whole picture (at least one
 * listener, a root).  Returns 0 or -1 with err set.
 */
int	config_finish(struct config *cfg, struct buf *err);

/* Free everything cfg owns and leave it as config_init made it. */
void	config_free(struct config *cfg);

#endif
