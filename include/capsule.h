/*
 * capsule: a request path to an object under the capsule's root directory.
 * Every file is opened relative to the root directory descriptor, and no
 * lookup may leave it: not by "..", not by a symbolic link.  Dotfiles are
 * never served.
 */
#ifndef CAPSULED_CAPSULE_H
#define CAPSULED_CAPSULE_H

#include <stdbool.h>
#include <sys/stat.h>
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
	CAPSULE_POST,		/* fd and st of a Markdown post to render */
	CAPSULE_FEED,		/* a directory of posts without an index */
	CAPSULE_ATOM,		/* atom.xml of such a directory */
	CAPSULE_LISTING,	/* body holds a generated text/gemini page */
	CAPSULE_REDIRECT,	/* location holds the path to go to */
	CAPSULE_NOT_FOUND,
	CAPSULE_ERROR		/* the object exists but could not be read */
};

struct capsule_obj {
	enum capsule_kind	 kind;
	int			 fd;		/* for CAPSULE_FILE and _POST */
	struct stat		 st;		/* the file's identity */
	off_t			 size;
	const char		*mime;		/* static string */
	struct buf		 body;		/* for CAPSULE_LISTING */
	/*
	 * For CAPSULE_LISTING: the page will be the same for as long as the
	 * directory's identity and times (in st) are.  Not so when an entry
	 * may be a symbolic link, an index exists but could not be opened,
	 * or the directory changed too recently for its times to tell.  For
	 * CAPSULE_FEED the same holds of the set of its posts (the last two
	 * rules apply); each post's own version is the caller's to check.
	 */
	bool			 cacheable;
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
 * the slash is its index.gmi, else its index.md (a post), else a feed
 * when it holds posts (*.md), else a generated listing.  "x.gmi" is the
 * file, or the post x.md when only that exists; "x.md" redirects to
 * "x.gmi"; "atom.xml" in a directory of posts is its feed unless a file
 * of that name exists.  Returns 0, or -1 when out of memory (o->kind is
 * then CAPSULE_ERROR).
 */
int	capsule_resolve(const struct capsule *c, const char *path,
	    size_t path_len, struct capsule_obj *o);

/*
 * One stat of the file capsule_resolve serves as CAPSULE_FILE for path
 * ("x.gmi" for "/x.gmi", "d/index.gmi" for "/d/"), with no descriptor
 * opened.  The lookup is not confined to the root as an open is: it only
 * tells whether a file already found there by capsule_resolve is still
 * the same (cache_is_current).  Returns 0, or -1 with errno.
 */
int	capsule_stat_file(const struct capsule *c, const char *path,
	    size_t path_len, struct stat *st);

/*
 * The stat of the Markdown post capsule_resolve serves as CAPSULE_POST
 * for path ("x.md" for "/x.gmi", "d/index.md" for "/d/"), with no
 * descriptor opened, after a stat that finds no "x.gmi" (or
 * "d/index.gmi") to take its place.  As for capsule_stat_file, it only
 * tells whether a post already found there is still the same.  Returns
 * 0, or -1 with errno (EEXIST when the .gmi name is taken, or may be).
 */
int	capsule_stat_post(const struct capsule *c, const char *path,
	    size_t path_len, struct stat *st);

/*
 * One stat of the directory named by path ("/a/b/"), which a lookup by
 * capsule_resolve found before, as capsule_stat_file does for a file: it
 * tells whether a listing made then is still the directory's.  Returns 0,
 * or -1 with errno (ENOENT when it is no longer a directory).
 */
int	capsule_stat_dir(const struct capsule *c, const char *path,
	    size_t path_len, struct stat *st);

/*
 * Called for each post: url is its Gemini path ("/blog/x.gmi"), fd an
 * open descriptor of the .md file (owned by the caller of the callback,
 * closed after it returns) and st its identity.  Return 0 to go on, -1 to
 * stop the walk.
 */
typedef int	(*capsule_post_fn)(void *arg, const char *url, int fd,
		    const struct stat *st);

/* Directories deep and posts many that capsule_posts visits at most. */
#define CAPSULE_WALK_DEPTH	8
#define CAPSULE_WALK_POSTS	10000

/*
 * Call fn for every post (a *.md file other than index.md, not a dotfile)
 * in the directory dir ("/blog/", with its slash), and in its
 * subdirectories too when recursive.  A post that is a symbolic link is
 * never visited.  When partial is not NULL, it tells whether the walk
 * may have left out a post that a later walk of the same directory could
 * visit (one that could not be opened now, or one past the limit).
 * Returns 0, or -1 when the directory cannot be read or fn stopped the
 * walk.
 */
int	capsule_posts(const struct capsule *c, const char *dir, bool recursive,
	    capsule_post_fn fn, void *arg, bool *partial);

/*
 * The stat of the file a walk of capsule_posts visited for the post url
 * (encoded, as the walk gives it: "/blog/x.gmi" is "blog/x.md"), taken as
 * the walk opened it, not following a link.  Returns 0, or -1 with errno.
 */
int	capsule_stat_source(const struct capsule *c, const char *url,
	    struct stat *st);

/*
 * True when st's modification and change times are more than a second
 * from now.  A file rewritten within one tick of the clock that stamps it may
 * keep its times, and with its size its whole version: what is read of a
 * newer file may stop matching it without its stat showing the change.
 * So only a settled version is kept on the strength of its stat.
 */
bool	capsule_is_settled(const struct stat *st);

/*
 * For tests: move the clock capsule_is_settled reads by seconds, so that
 * a file written a moment ago counts as settled without a sleep.
 */
void	capsule_skew_clock(time_t seconds);

/*
 * True when the percent-encoded path names a regular file inside the
 * capsule (the check behind links and cover images in posts).
 */
bool	capsule_exists(const struct capsule *c, const char *path);

/*
 * Read a whole file of at most max bytes into out, checking that it did
 * not change while it was read (so a post being rewritten is never served
 * half-written).  Returns 0, or -1 with errno (EFBIG when too large,
 * EAGAIN when it kept changing).
 */
int	capsule_read_file(int fd, const struct stat *st, size_t max,
	    struct buf *out);

/* The media type for a file name, by its extension. */
const char *capsule_mime_for_name(const char *name);

/* The built-in media type of an extension (no dot), or NULL. */
const char *capsule_mime_for_ext(struct span ext);

/* True when the path has a component that starts with '.'. */
bool	capsule_has_dot_component(const char *path, size_t len);

/*
 * Open the directory dir (len bytes, decoded, from the root: "/a/b/" or
 * "/a/b") by the rules of every lookup: no dot component, no way out of
 * the root by ".." or a link.  Returns a descriptor, or -1 with errno
 * (ENOENT, ENOTDIR, EXDEV or ELOOP for a way out).
 */
int	capsule_open_dir(const struct capsule *c, const char *dir,
	    size_t len);

#endif
