/*
 * capsule: a request path to an object under the capsule's root directory.
 * Every file is opened relative to the root directory descriptor, and no
 * lookup may leave it: not by "..", not by a symbolic link.  Dotfiles are
 * never served.
 */
#ifndef CAPSULED_CAPSULE_H
#define CAPSULED_CAPSULE_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"

/* Largest generated directory listing. */
#define CAPSULE_LISTING_MAX	(256 * 1024)

struct capsule {
	int	 rootfd;	/* O_DIRECTORY descriptor of the root */
	char	*root;		/* its path, for messages */
};

enum capsule_kind {
	CAPSULE_FILE,		/* fd, size and mime are set */
	CAPSULE_LISTING,	/* body holds a generated text/gemini page */
	CAPSULE_REDIRECT,	/* location holds the path to go to */
	CAPSULE_NOT_FOUND,
	CAPSULE_ERROR		/* the object exists but could not be read */
};

struct capsule_obj {
	enum capsule_kind	 kind;
	int			 fd;		/* for CAPSULE_FILE, else -1 */
	off_t			 size;
	const char		*mime;		/* static string */
	struct buf		 body;		/* for CAPSULE_LISTING */
	struct buf		 location;	/* for CAPSULE_REDIRECT */
};

/*
 * Open the root directory.  Returns 0, or -1 with err naming the path and
 * the reason.
 */
int	capsule_open(struct capsule *c, const char *root, struct buf *err);

/* Close the root. */
void	capsule_close(struct capsule *c);

/* Prepare an empty object (before capsule_resolve). */
void	capsule_obj_init(struct capsule_obj *o);

/* Close and free what the object holds. */
void	capsule_obj_free(struct capsule_obj *o);

/*
 * Look up a normalised path (starting with '/', as gemini_parse_request
 * makes it) and fill o.  A directory asked for without its trailing slash
 * becomes CAPSULE_REDIRECT to the path with the slash; a directory with
 * the slash is its index.gmi, else a generated listing.  Returns 0, or -1
 * when out of memory (o->kind is then CAPSULE_ERROR).
 */
int	capsule_resolve(const struct capsule *c, const char *path,
	    size_t path_len, struct capsule_obj *o);

/* The media type for a file name, by its extension. */
const char *capsule_mime_for_name(const char *name);

/* True when the path has a component that starts with '.'. */
bool	capsule_has_dot_component(const char *path, size_t len);

#endif
