/*
 * feed: the pages a directory of posts gets without an author writing
 * them: the gemfeed (gemsub) index, its Atom feed, the tag pages and the
 * search results.  Pure renderers over post metadata: no I/O, no logging.
 * Every function appends to a buf and, when it fails, leaves the buf as it
 * found it.
 *
 * Dates: a date-only value stands for noon UTC (the gemsub rule, so the
 * index and the feed agree); a time without a zone is taken as UTC; a time
 * with a zone is converted to UTC and written with "Z".  Index and tag
 * lines show the calendar date as the author wrote it.
 *
 * Untrusted text (titles, descriptions, tags, queries) is flattened to one
 * line for gemtext: runs of whitespace and line breaks (CR, LF, TAB, NEL,
 * U+2028, U+2029) become one space, leading and trailing space is dropped,
 * other control characters are dropped and invalid UTF-8 becomes U+FFFD.
 * Atom text gets the same treatment plus XML escaping.
 */
#ifndef CAPSULED_FEED_H
#define CAPSULED_FEED_H

#include <stddef.h>

#include "buf.h"
#include "frontmatter.h"

/* A search lists at most this many posts (then says there were more). */
#define FEED_SEARCH_MAX_RESULTS	100

/* Words of a query past this many are ignored. */
#define FEED_SEARCH_MAX_WORDS	32

/* Only this many leading bytes of a query word are matched. */
#define FEED_SEARCH_MAX_WORD	128

/* Only this many leading bytes of the query are echoed in the heading. */
#define FEED_SEARCH_SHOW_MAX	256

/* The Atom "updated" of a feed with no dated entry. */
#define FEED_EPOCH		"1970-01-01T00:00:00Z"

/* One published post as the feed sees it. */
struct feed_entry {
	const char		*path;	/* URL path, "/blog/x.gmi", encoded */
	const struct post_meta	*meta;	/* may be NULL: no title, no date */
	struct span		 body;	/* rendered gemtext, may be empty */
};

/*
 * Sort newest first: by pubdate, then updated, then title, then path
 * (both ascending); entries without a pubdate go last.  Dates compare as
 * instants (see above).  In place, no allocation.
 */
void	feed_sort(struct feed_entry *v, size_t n);

/*
 * The gemfeed index of dir_path ("/blog/"): "# title", a blank line, one
 * "=> rel YYYY-MM-DD - Title" line per entry (rel is the path relative to
 * dir_path, or the whole path when it lies elsewhere; "./" is put in front
 * of a name that would read as a URL scheme), a blank line and
 * "=> atom.xml Atom feed".  The " - " after the date keeps a non-digit
 * there, which Lagrange's entry pattern requires, so a title that starts
 * with digits is still a title.  An entry without a pubdate is listed as
 * "=> rel Title": gemsub readers skip it, as it has no date to give.  With
 * no entries the list is the line "No posts yet.".  A blank title becomes
 * the file name (or dir_path for the page).  v must be sorted.  0 or -1.
 */
int	feed_index(struct buf *out, const char *dir_path, const char *title,
	    const struct feed_entry *v, size_t n);

/*
 * The Atom 1.0 feed of dir_path: id and rel=alternate link are
 * base_url + dir_path, rel=self is that + "atom.xml", updated is the
 * latest updated-or-published instant of all entries (FEED_EPOCH when none
 * has one), the author is the feed title (Atom wants one and posts name
 * none).  One <entry> per post with id and link base_url + path, title,
 * summary (the description, left out when blank), published (left out
 * when unset), updated (updated, else published, else FEED_EPOCH) and one
 * <category> per tag; hreflang comes from a well-formed lang.  base_url
 * has no trailing slash ("gemini://host:1966").  0 or -1.
 */
int	feed_atom(struct buf *out, const char *base_url, const char *dir_path,
	    const char *title, const struct feed_entry *v, size_t n);

/*
 * The /tags/ page: "# Tags", a blank line, then one
 * "=> /tags/ENC.gmi Tag (count)" line per distinct tag, sorted and
 * compared with ASCII case folding, shown as first spelled (in entry
 * order); count is the number of posts carrying it.  ENC keeps only
 * A-Z a-z 0-9 - . _ ~ and percent-encodes every other byte.  Without tags
 * the list is the line "No tags yet.".  Allocates one array (mem_calloc).
 * 0 or -1.
 */
int	feed_tags_index(struct buf *out, const struct feed_entry *v, size_t n);

/*
 * /tags/TAG.gmi for the decoded tag name: "# Posts tagged Tag" (the first
 * spelling found in the entries), a blank line, one
 * "=> /path YYYY-MM-DD - Title" line per entry carrying the tag (ASCII
 * case folding, in the order given), then "\n=> /tags/ All tags\n".
 * Returns 0, 1 when no entry has the tag (out untouched; the caller
 * answers 51), or -1.
 */
int	feed_tag_page(struct buf *out, struct span tag,
	    const struct feed_entry *v, size_t n);

/*
 * Search results for a decoded, untrusted query.  The query is split at
 * ASCII whitespace; a post matches when every word (the first
 * FEED_SEARCH_MAX_WORDS, each cut to FEED_SEARCH_MAX_WORD bytes) occurs
 * in its title, description or body, ASCII case folded, other bytes
 * compared as they are.  Linear per word and text (no backtracking).
 * Page: "# Search: QUERY", a blank line, then "=> /path YYYY-MM-DD - Title"
 * per match in the order given (at most FEED_SEARCH_MAX_RESULTS, then a
 * line saying so) or "No posts match.", then "\n=> /search Search again\n".
 * A query without words lists nothing: "# Search", a blank line and
 * "Type one or more words to search for.", then the same footer.  0 or -1.
 */
int	feed_search(struct buf *out, struct span query,
	    const struct feed_entry *v, size_t n);

/*
 * Write d as YYYY-MM-DD into out (NUL-terminated); "" when the date is
 * unset (y == 0) or not a real calendar date.
 */
void	feed_date(const struct fm_date *d, char out[11]);

#endif
