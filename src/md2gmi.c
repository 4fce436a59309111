#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <md4c.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "frontmatter.h"
#include "md2gmi.h"
#include "mem.h"
#include "url.h"

/* Container kinds remembered per nesting level. */
enum md2gmi_ctr {
	CTR_QUOTE,
	CTR_LIST
};

/* Where inline text is collected. */
enum md2gmi_inl {
	INL_NONE,
	INL_P,		/* paragraph: BR starts a new line */
	INL_H,		/* heading: plain text */
	INL_LI,		/* list item: BR is a space */
	INL_TD,		/* table cell */
	INL_HTML	/* stripped HTML block: BR starts a new line */
};

#define MD2GMI_MAX_NEST		64	/* deeper levels share the last slot */
#define MD2GMI_CLOCK_EVERY	4096	/* callbacks between clock readings */
#define MD2GMI_MAX_LINE_DIAGS	32	/* line look-ups for diagnostics */

/*
 * Link placeholders in collected text; controls never reach it raw.  A
 * marker holds the index of its link in decimal.
 */
#define MARK_OPEN	'\x01'
#define MARK_CLOSE	'\x02'

struct md2gmi_list {
	bool		 ordered;
	bool		 task;		/* the open item has a task box */
	unsigned	 num;
	char		 prefix[48];
	size_t		 plen;
};

/* A link of the current block; its bytes are in ctx->lnk. */
struct md2gmi_link {
	size_t		 url;		/* offset of the URL */
	size_t		 url_len;
	size_t		 label;		/* offset of the label */
	size_t		 label_len;	/* 0: the client shows the URL */
	bool		 numbered;
};

struct md2gmi_cell {
	size_t		 off;
	size_t		 len;
	size_t		 cols;		/* display width */
};

struct md2gmi_table {
	unsigned		 ncols;
	unsigned		 col;
	unsigned		 rows;
	MD_ALIGN		 align[MD2GMI_MAX_COLS];
	struct md2gmi_cell	*cells;
	size_t			 ncells;
	size_t			 cap;
	struct buf		 text;
	struct buf		 ex;		/* cells with markers expanded */
	bool			 in_head;
};

struct md2gmi {
	const struct md2gmi_opts *opts;
	struct md2gmi_info	*info;
	struct fm_diags		*diags;
	struct buf		*out;
	size_t			 out_start;
	size_t			 out_max;	/* the caller's out->max */
	size_t			 blk_mark;	/* out->len before the block */
	size_t			 blk_start;	/* where its text begins */
	struct buf		 line;		/* inline text collected */
	struct buf		 label;		/* text of the open link */
	struct buf		 alt;		/* alt text of the open image */
	struct buf		 href;		/* the open link's target */
	struct buf		 code;		/* code or HTML block body */
	struct buf		 notes;		/* footnote definitions */
	struct buf		 tmp;
	struct buf		 tmp2;
	struct buf		 code_src;	/* source of the open image */
	struct md2gmi_link	*links;		/* links of the current block */
	struct buf		 lnk;		/* their URLs and labels */
	const char		*base;		/* the post's URL, or "/" */
	struct buf		 base_esc;	/* base escaped, once needed */
	size_t			 base_dir;	/* its directory's length */
	struct buf		 rel_ref;	/* scratch for relative links */
	struct buf		 rel_abs;
	struct buf		 rel_fs;
	size_t			 nlinks;
	size_t			 caplinks;
	size_t			 total_links;
	unsigned		 line_diags;
	struct md2gmi_table	 tbl;

	int			 depth;		/* open blocks below DOC */
	enum md2gmi_ctr		 ctr[MD2GMI_MAX_NEST];
	int			 cdepth;
	struct md2gmi_list	 lists[MD2GMI_MAX_NEST];
	int			 ldepth;
	int			 qdepth;
	enum md2gmi_inl		 inl;

	int			 link_nest;
	long			 collide_skip;	/* image inside the open link */
	bool			 link_dropped;
	int			 img_depth;
	int			 html_skip;
	bool			 in_code_span;
	bool			 soft;		/* a space is owed */
	bool			 other_text;	/* text outside links seen */
	bool			 link_only_ok;	/* may become bare links */
	bool			 is_note;
	bool			 q_sep;		/* next quote line wants ">" */
	bool			 q_any;
	bool			 li_done;	/* item's line written */
	bool			 in_code_block;
	bool			 in_html_block;
	uintptr_t		 md_lo;		/* the Markdown's first byte */
	uintptr_t		 md_hi16;	/* the last 16 start here */
	bool			 may_caret;	/* a '^' can reach the text */
	bool			 line_nl;	/* the block put '\n' in line */
	bool			 marked;	/* the block has link markers */
	char			 code_alt[128];
	size_t			 code_start;	/* where its text begins */
	int			 h_level;
	bool			 err;
	bool			 timed_out;
	unsigned		 ticks;		/* callbacks until a look */
	struct timespec		 deadline;	/* with opts->budget_ms */
};

/*
 * Byte classes, so that text is scanned with one table load per byte and
 * clean runs are copied whole.  Our link markers are controls too but get
 * their own class: text we collected may hold them, the author's may not.
 */
#define BC_CTL		0x01	/* C0 control (not a marker) or DEL */
#define BC_MARK		0x02	/* MARK_OPEN, MARK_CLOSE */
#define BC_SPACE	0x04	/* ' ' */
#define BC_WS		0x08	/* TAB, LF, CR: become spaces */
#define BC_CODE		0x10	/* a control code blocks do not keep */

static const unsigned char md_bclass[256] = {
	[0x00] = BC_CTL | BC_CODE, [0x01] = BC_MARK | BC_CODE,
	[0x02] = BC_MARK | BC_CODE, [0x03] = BC_CTL | BC_CODE,
	[0x04] = BC_CTL | BC_CODE, [0x05] = BC_CTL | BC_CODE,
	[0x06] = BC_CTL | BC_CODE, [0x07] = BC_CTL | BC_CODE,
	[0x08] = BC_CTL | BC_CODE, ['\t'] = BC_CTL | BC_WS,
	['\n'] = BC_CTL | BC_WS, [0x0b] = BC_CTL | BC_CODE,
	[0x0c] = BC_CTL | BC_CODE, ['\r'] = BC_CTL | BC_WS | BC_CODE,
	[0x0e] = BC_CTL | BC_CODE, [0x0f] = BC_CTL | BC_CODE,
	[0x10] = BC_CTL | BC_CODE, [0x11] = BC_CTL | BC_CODE,
	[0x12] = BC_CTL | BC_CODE, [0x13] = BC_CTL | BC_CODE,
	[0x14] = BC_CTL | BC_CODE, [0x15] = BC_CTL | BC_CODE,
	[0x16] = BC_CTL | BC_CODE, [0x17] = BC_CTL | BC_CODE,
	[0x18] = BC_CTL | BC_CODE, [0x19] = BC_CTL | BC_CODE,
	[0x1a] = BC_CTL | BC_CODE, [0x1b] = BC_CTL | BC_CODE,
	[0x1c] = BC_CTL | BC_CODE, [0x1d] = BC_CTL | BC_CODE,
	[0x1e] = BC_CTL | BC_CODE, [0x1f] = BC_CTL | BC_CODE,
	[' '] = BC_SPACE, [0x7f] = BC_CTL | BC_CODE
};

#define SWAR_ONES	0x0101010101010101ULL
#define SWAR_HIGH	0x8080808080808080ULL

/* Do the eight bytes at p hold one below 0x20 or equal to 0x7f? */
static bool
md_word_has_ctl(const char *p)
{
	uint64_t	w;

	memcpy(&w, p, 8);
	return (((w - 0x20 * SWAR_ONES) | ((w ^ 0x7f * SWAR_ONES) -
	    SWAR_ONES)) & ~w & SWAR_HIGH) != 0;
}

/* md_word_has_ctl for the four bytes at p. */
static inline bool
md_word4_has_ctl(const char *p)
{
	uint32_t	w;

	memcpy(&w, p, 4);
	return (((w - 0x20202020U) | ((w ^ 0x7f7f7f7fU) - 0x01010101U)) &
	    ~w & 0x80808080U) != 0;
}

#ifdef __SSE2__
/*
 * One bit per byte of the 16 at p that may be in a class: a control, DEL
 * and, with sp, a space.  Every class is made of such bytes, so only
 * these need a look at the table.
 */
static unsigned
md_cand16(const char *p, bool sp)
{
	__m128i	v, c;

	v = _mm_loadu_si128((const __m128i *)(const void *)p);
	c = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)),
	    v), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
	if (sp)
		c = _mm_or_si128(c, _mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
	return (unsigned)_mm_movemask_epi8(c);
}

/* Offset of the first candidate at p + i in the class of mask, or -1. */
static long
md_first16(const char *p, size_t i, unsigned cand, unsigned mask)
{
	unsigned	k;

	while (cand != 0) {
		k = (unsigned)__builtin_ctz(cand);
		if (md_bclass[(unsigned char)p[i + k]] & mask)
			return (long)(i + k);
		cand &= cand - 1;
	}
	return -1;
}

/*
 * md_span_clean for 16 bytes or more, sixteen at a time; the tail is the
 * last sixteen, overlapping, with the bytes already seen masked off.
 */
static size_t
md_span_clean16(const char *p, size_t n, unsigned mask)
{
	size_t	i, base;
	long	hit;
	bool	sp = (mask & BC_SPACE) != 0;

	for (i = 0; i + 16 <= n; i += 16)
		if ((hit = md_first16(p, i, md_cand16(p + i, sp), mask)) != -1)
			return (size_t)hit;
	if (i == n)
		return n;
	base = n - 16;
	hit = md_first16(p, base, md_cand16(p + base, sp) &
	    (~0U << (i - base)), mask);
	return hit == -1 ? n : (size_t)hit;
}
#endif

/*
 * Length of the prefix of p with no byte in the classes of mask.  Prose
 * rarely holds a control, so words are tested first; only a word that
 * has one (or, with BC_SPACE, any word) is looked at byte by byte.
 */
static size_t
md_span_clean(const char *p, size_t n, unsigned mask)
{
	size_t	i = 0, end;

#ifdef __SSE2__
	if (n >= 16)
		return md_span_clean16(p, n, mask);
#endif
	/* Text is mostly short: its last word, read first, often settles it. */
	if (!(mask & BC_SPACE) && n >= 8 && !md_word_has_ctl(p + n - 8)) {
		while (i < n - 8 && !md_word_has_ctl(p + i))
			i += 8;
		if (i >= n - 8)
			return n;
	}
	for (;;) {
		while (!(mask & BC_SPACE) && i + 8 <= n &&
		    !md_word_has_ctl(p + i))
			i += 8;
		end = n - i > 8 ? i + 8 : n;
		while (i < end && !(md_bclass[(unsigned char)p[i]] & mask))
			i++;
		if (i < end || i == n)
			return i;
	}
}

#ifdef __SSE2__
/*
 * One bit per byte of v that md_copy_clean may not copy: a control or
 * DEL, or with code, a control other than TAB and LF (BC_CODE).
 */
static inline unsigned
md_bad16(__m128i v, bool code)
{
	__m128i	m;

	m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)),
	    v), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
	if (code)
		m = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v,
		    _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v,
		    _mm_set1_epi8('\n'))), m);
	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * Append s to b when it has no byte in the classes of mask (BC_CTL |
 * BC_MARK, or BC_CODE) and b has room without growing.  Copies while it
 * looks, since that is what almost every text callback needs: true when
 * done, false with b unchanged otherwise (bytes past b->len may then
 * have been written).
 */
static inline bool
md_copy_clean(struct buf *b, struct span s, unsigned mask)
{
	char	*d;
	size_t	 i;

	if (s.n >= b->cap - b->len || s.n > b->max - b->len)
		return false;
	d = b->p + b->len;
#ifdef __SSE2__
	if (s.n >= 16) {
		__m128i	v;
		bool	code = mask == BC_CODE;

		for (i = 0; i + 16 <= s.n; i += 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)
			    (s.p + i));
			_mm_storeu_si128((__m128i *)(void *)(d + i), v);
			if (md_bad16(v, code))
				return false;
		}
		if (i < s.n) {
			v = _mm_loadu_si128((const __m128i *)(const void *)
			    (s.p + s.n - 16));
			_mm_storeu_si128((__m128i *)(void *)(d + s.n - 16), v);
			if (md_bad16(v, code))
				return false;
		}
		b->len += s.n;
		return true;
	}
#endif
	if (mask != BC_CODE && s.n >= 8) {
		if (md_word_has_ctl(s.p) || md_word_has_ctl(s.p + s.n - 8))
			return false;
		memcpy(d, s.p, 8);
		memcpy(d + s.n - 8, s.p + s.n - 8, 8);
		b->len += s.n;
		return true;
	}
	if (mask != BC_CODE && s.n >= 4) {
		if (md_word4_has_ctl(s.p) || md_word4_has_ctl(s.p + s.n - 4))
			return false;
		memcpy(d, s.p, 4);
		memcpy(d + s.n - 4, s.p + s.n - 4, 4);
		b->len += s.n;
		return true;
	}
	for (i = 0; i < s.n; i++) {
		if (md_bclass[(unsigned char)s.p[i]] & mask)
			return false;
		d[i] = s.p[i];
	}
	b->len += s.n;
	return true;
}

/*
 * md_copy_clean for the text md4c hands over, which points into the
 * Markdown: text of up to sixteen bytes with sixteen readable there (not
 * past the end of the Markdown) is checked and copied as one block, with
 * no branch on its length, which varies too much to be predicted.
 */
static inline bool
md_copy_md(const struct md2gmi *ctx, struct buf *b, struct span s,
    unsigned mask)
{
#ifdef __SSE2__
	uintptr_t	at = (uintptr_t)s.p;
	__m128i		v;

	if (s.n <= 16 && at >= ctx->md_lo && at <= ctx->md_hi16 &&
	    b->cap - b->len > 16 && s.n <= b->max - b->len) {
		v = _mm_loadu_si128((const __m128i *)(const void *)s.p);
		if ((md_bad16(v, mask == BC_CODE) & ((1U << s.n) - 1)) != 0)
			return false;
		_mm_storeu_si128((__m128i *)(void *)(b->p + b->len), v);
		b->len += s.n;
		return true;
	}
#endif
	return md_copy_clean(b, s, mask);
}

/* UTF-8. */

static size_t
u8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t	c;
	size_t		len, i;

	if (n == 0) {
		*cp = 0;
		return 0;
	}
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else {
		*cp = 0xfffd;
		return 1;
	}
	if (len > n) {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return len;
}

static int
u8_put(struct buf *b, uint32_t c)
{
	char	s[4];

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80)
		return buf_putc(b, (char)c);
	if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		return buf_append(b, s, 2);
	}
	if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		return buf_append(b, s, 3);
	}
	s[0] = (char)(0xf0 | (c >> 18));
	s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	s[3] = (char)(0x80 | (c & 0x3f));
	return buf_append(b, s, 4);
}

/* Scripts written without spaces, where a soft break adds none. */
static bool
u8_is_cjk(uint32_t c)
{
	return (c >= 0x3000 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xff00 && c <= 0xffef) || (c >= 0x20000 && c <= 0x3ffff);
}

/* Display columns: East Asian wide and fullwidth count 2, marks 0. */
static int
u8_width(uint32_t c)
{
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
	    (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* Are the next eight of n bytes at p all ASCII? */
static bool
md_word_ascii(const char *p, size_t n)
{
	uint64_t	w;

	if (n < 8)
		return false;
	memcpy(&w, p, 8);
	return (w & SWAR_HIGH) == 0;
}

/* Is every byte of s ASCII? */
static inline bool
md_all_ascii(struct span s)
{
	uint64_t	w = 0, x;
	size_t		i;

	if (s.n < 8) {
		for (i = 0; i < s.n; i++)
			w |= (unsigned char)s.p[i];
		return (w & 0x80) == 0;
	}
	for (i = 0; i + 8 <= s.n; i += 8) {
		memcpy(&x, s.p + i, 8);
		w |= x;
	}
	memcpy(&x, s.p + s.n - 8, 8);
	return ((w | x) & SWAR_HIGH) == 0;
}

/* Display columns of a string; ASCII counts one a byte, undecoded. */
static size_t
u8_columns(struct span s)
{
	size_t		i = 0, w = 0, k;
	uint32_t	c;

	if (md_all_ascii(s))
		return s.n;
	while (i < s.n) {
		if (md_word_ascii(s.p + i, s.n - i)) {
			w += 8;
			i += 8;
			continue;
		}
		if ((unsigned char)s.p[i] < 0x80) {
			w++;
			i++;
			continue;
		}
		k = u8_decode((const unsigned char *)s.p + i, s.n - i, &c);
		w += (size_t)u8_width(c);
		i += k;
	}
	return w;
}

/* Last code point of a buffer (0 when empty). */
static uint32_t
u8_last(const struct buf *b)
{
	size_t		i;
	uint32_t	c;

	if (b->len == 0)
		return 0;
	i = b->len - 1;
	while (i > 0 && b->len - i < 4 && (b->p[i] & 0xc0) == 0x80)
		i--;
	u8_decode((const unsigned char *)b->p + i, b->len - i, &c);
	return c;
}

/*
 * Entities: a hand-picked table of the names posts actually use, in
 * strcmp order for ent_lookup.
 */

static const struct {
	const char	*name;
	uint32_t	 cp;
} md2gmi_entities[] = {
	{ "AElig", 0xc6 }, { "Aacute", 0xc1 }, { "Agrave", 0xc0 },
	{ "Auml", 0xc4 }, { "Ccedil", 0xc7 }, { "Delta", 0x394 },
	{ "Eacute", 0xc9 }, { "Iacute", 0xcd }, { "Ntilde", 0xd1 },
	{ "Oacute", 0xd3 }, { "Omega", 0x3a9 }, { "Ouml", 0xd6 },
	{ "Uacute", 0xda }, { "Uuml", 0xdc }, { "aacute", 0xe1 },
	{ "acirc", 0xe2 }, { "aelig", 0xe6 }, { "agrave", 0xe0 },
	{ "alpha", 0x3b1 }, { "amp", '&' }, { "apos", '\'' },
	{ "aring", 0xe5 }, { "asymp", 0x2248 }, { "atilde", 0xe3 },
	{ "auml", 0xe4 }, { "bdquo", 0x201e }, { "beta", 0x3b2 },
	{ "brvbar", 0xa6 }, { "bull", 0x2022 }, { "ccedil", 0xe7 },
	{ "cent", 0xa2 }, { "check", 0x2713 }, { "copy", 0xa9 },
	{ "dagger", 0x2020 }, { "darr", 0x2193 }, { "deg", 0xb0 },
	{ "delta", 0x3b4 }, { "divide", 0xf7 }, { "eacute", 0xe9 },
	{ "ecirc", 0xea }, { "egrave", 0xe8 }, { "emsp", 0x2003 },
	{ "ensp", 0x2002 }, { "epsilon", 0x3b5 }, { "equiv", 0x2261 },
	{ "euml", 0xeb }, { "euro", 0x20ac }, { "frac12", 0xbd },
	{ "frac14", 0xbc }, { "frac34", 0xbe }, { "gamma", 0x3b3 },
	{ "ge", 0x2265 }, { "gt", '>' }, { "hArr", 0x21d4 },
	{ "harr", 0x2194 }, { "hearts", 0x2665 }, { "hellip", 0x2026 },
	{ "iacute", 0xed }, { "icirc", 0xee }, { "iexcl", 0xa1 },
	{ "igrave", 0xec }, { "infin", 0x221e }, { "iquest", 0xbf },
	{ "iuml", 0xef }, { "lArr", 0x21d0 }, { "lambda", 0x3bb },
	{ "laquo", 0xab }, { "larr", 0x2190 }, { "ldquo", 0x201c },
	{ "le", 0x2264 }, { "lsaquo", 0x2039 }, { "lsquo", 0x2018 },
	{ "lt", '<' }, { "mdash", 0x2014 }, { "micro", 0xb5 },
	{ "middot", 0xb7 }, { "minus", 0x2212 }, { "mu", 0x3bc },
	{ "nbsp", 0xa0 }, { "ndash", 0x2013 }, { "ne", 0x2260 },
	{ "not", 0xac }, { "ntilde", 0xf1 }, { "oacute", 0xf3 },
	{ "ocirc", 0xf4 }, { "ograve", 0xf2 }, { "omega", 0x3c9 },
	{ "ordf", 0xaa }, { "ordm", 0xba }, { "oslash", 0xf8 },
	{ "otilde", 0xf5 }, { "ouml", 0xf6 }, { "para", 0xb6 },
	{ "permil", 0x2030 }, { "phi", 0x3c6 }, { "pi", 0x3c0 },
	{ "plusmn", 0xb1 }, { "pound", 0xa3 }, { "prime", 0x2032 },
	{ "quot", '"' }, { "rArr", 0x21d2 }, { "raquo", 0xbb },
	{ "rarr", 0x2192 }, { "rdquo", 0x201d }, { "reg", 0xae },
	{ "rsaquo", 0x203a }, { "rsquo", 0x2019 }, { "sbquo", 0x201a },
	{ "sect", 0xa7 }, { "shy", 0xad }, { "sigma", 0x3c3 },
	{ "sup1", 0xb9 }, { "sup2", 0xb2 }, { "sup3", 0xb3 },
	{ "szlig", 0xdf }, { "theta", 0x3b8 }, { "thinsp", 0x2009 },
	{ "times", 0xd7 }, { "trade", 0x2122 }, { "uacute", 0xfa },
	{ "uarr", 0x2191 }, { "ucirc", 0xfb }, { "ugrave", 0xf9 },
	{ "uml", 0xa8 }, { "uuml", 0xfc }, { "yacute", 0xfd },
	{ "yen", 0xa5 }, { "yuml", 0xff }, { "zwj", 0x200d },
	{ "zwnj", 0x200c },
};

static int
ent_numeric(struct span e, uint32_t *cp)
{
	size_t		i = 2;
	uint32_t	v = 0;
	int		base = 10, d;

	if (i < e.n && (e.p[i] == 'x' || e.p[i] == 'X')) {
		base = 16;
		i++;
	}
	if (i >= e.n - 1)
		return -1;
	for (; i < e.n - 1; i++) {
		char	c = e.p[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		if (v <= 0x10ffff)
			v = v * (uint32_t)base + (uint32_t)d;
	}
	/* &#0;, surrogates and values past Unicode become U+FFFD. */
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		v = 0xfffd;
	*cp = v;
	return 0;
}

/* The code point of the named entity name, or 0 when it is not known. */
static uint32_t
ent_lookup(struct span name)
{
	size_t	lo = 0, hi = sizeof(md2gmi_entities) /
		    sizeof(md2gmi_entities[0]), mid, n;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = strlen(md2gmi_entities[mid].name);
		c = memcmp(name.p, md2gmi_entities[mid].name,
		    name.n < n ? name.n : n);
		if (c == 0)
			c = (name.n > n) - (name.n < n);
		if (c == 0)
			return md2gmi_entities[mid].cp;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Append the decoding of one "&...;" reference, or the text as it is. */
static int
ent_decode(struct span e, struct buf *b)
{
	uint32_t	cp;

	if (e.n >= 4 && e.p[0] == '&' && e.p[1] == '#' && e.p[e.n - 1] == ';') {
		if (ent_numeric(e, &cp) == 0)
			return u8_put(b, cp);
	} else if (e.n >= 3 && e.p[0] == '&' && e.p[e.n - 1] == ';' &&
	    (cp = ent_lookup(span_make(e.p + 1, e.n - 2))) != 0)
		return u8_put(b, cp);
	return buf_append_span(b, e);
}

/* Decode every "&...;" in raw text (HTML text and attributes). */
static int
ent_decode_all(struct span s, struct buf *b)
{
	size_t	i = 0, j, start = 0;

	while (i < s.n) {
		if (s.p[i] != '&') {
			i++;
			continue;
		}
		for (j = i + 1; j < s.n && j - i < 40; j++)
			if (!((s.p[j] >= 'a' && s.p[j] <= 'z') ||
			    (s.p[j] >= 'A' && s.p[j] <= 'Z') ||
			    (s.p[j] >= '0' && s.p[j] <= '9') || s.p[j] == '#'))
				break;
		if (j < s.n && s.p[j] == ';' && j > i + 1) {
			if (buf_append(b, s.p + start, i - start) == -1 ||
			    ent_decode(span_make(s.p + i, j - i + 1), b) == -1)
				return -1;
			start = i = j + 1;
		} else
			i++;
	}
	return buf_append(b, s.p + start, s.n - start);
}

/* An md4c attribute with its entity runs decoded. */
static int
attr_decode(const MD_ATTRIBUTE *a, struct buf *b)
{
	unsigned	i;
	struct span	s;

	if (a->text == NULL || a->size == 0)
		return 0;
	for (i = 0; a->substr_offsets[i] < a->size; i++) {
		s = span_make(a->text + a->substr_offsets[i],
		    a->substr_offsets[i + 1] - a->substr_offsets[i]);
		switch (a->substr_types[i]) {
		case MD_TEXT_ENTITY:
			if (ent_decode(s, b) == -1)
				return -1;
			break;
		case MD_TEXT_NULLCHAR:
			if (u8_put(b, 0xfffd) == -1)
				return -1;
			break;
		default:
			if (buf_append_span(b, s) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/* URLs. */

/* Is every byte one url_escape_relative keeps, with no guard needed? */
static bool
md_ref_plain(struct span ref)
{
	size_t		i;
	unsigned char	c;

	if (ref.n >= 2 && ref.p[0] == '/' && ref.p[1] == '/')
		return false;
	for (i = 0; i < ref.n; i++) {
		c = (unsigned char)ref.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '/' || c == '.' ||
		    c == '-' || c == '_' || c == '~'))
			return false;
	}
	return true;
}

/*
 * md2gmi_resolve with the base already escaped and a scratch buffer for
 * the reference, so that a post with many links escapes its URL once.
 */
static int
md_resolve(struct span base_esc, struct span ref, struct buf *tmp,
    struct buf *out)
{
	if (url_scheme(ref).n > 0 || span_starts_with(ref, "//"))
		return buf_append_span(out, ref);
	if (!md_ref_plain(ref)) {
		buf_reset(tmp);
		if (url_escape_relative(ref, tmp) == -1)
			return -1;
		ref = buf_span(tmp);
	}
	return url_resolve(base_esc, ref, out, NULL);
}

/*
 * Both sides are escaped first: the base is a decoded URL path and the
 * reference is what a person wrote, and url_resolve takes neither raw.
 */
int
md2gmi_resolve(const char *base, struct span ref, struct buf *out)
{
	struct buf	b, r;
	int		rc;

	if (url_scheme(ref).n > 0 || span_starts_with(ref, "//"))
		return buf_append_span(out, ref);
	if (base == NULL || base[0] != '/')
		base = "/";
	buf_init(&b, 3 * strlen(base) + 2);
	buf_init(&r, 3 * ref.n + 2);
	if (url_escape_relative(span_cstr(base), &b) == -1)
		rc = -1;
	else
		rc = md_resolve(buf_span(&b), ref, &r, out);
	buf_free(&b);
	buf_free(&r);
	return rc;
}

/*
 * Append the capsule path for a lookup: percent-decoded, and refused when
 * the decoding smuggles in a NUL or a dot segment.  Resolution removed the
 * dot segments written as such, so one found now came from %2E, and
 * removing dots changes the length of a path exactly when it has one.
 */
static int
md_capsule_path(struct span path, struct buf *out)
{
	size_t	start = out->len, n;

	if (url_decode(path, out, NULL) == -1 || buf_cstr(out) == NULL)
		return -1;
	n = out->len - start;
	if (url_remove_dots_inplace(out->p + start, n, NULL) != n)
		return -1;
	return 0;
}

/* Every link asks, so the length picks the names worth comparing. */
static bool
md_bad_scheme(struct span s)
{
	switch (s.n) {
	case 4:
		return strncasecmp(s.p, "data", 4) == 0 ||
		    strncasecmp(s.p, "file", 4) == 0;
	case 8:
		return strncasecmp(s.p, "vbscript", 8) == 0;
	case 10:
		return strncasecmp(s.p, "javascript", 10) == 0;
	default:
		return false;
	}
}

/* Links. */

/* File line of the first occurrence of raw bytes, or 0 when unknown. */
static unsigned long
md_line_of(struct md2gmi *ctx, struct span raw)
{
	struct span	 src = ctx->opts->src;
	const char	*hit;
	unsigned long	 line = 1;
	size_t		 i;

	if (raw.n == 0 || src.n == 0 ||
	    ctx->line_diags++ >= MD2GMI_MAX_LINE_DIAGS)
		return 0;
	if ((hit = memmem(src.p, src.n, raw.p, raw.n)) == NULL)
		return 0;
	for (i = 0; i < (size_t)(hit - src.p); i++)
		if (src.p[i] == '\n')
			line++;
	return line;
}

static bool
md_exists(struct md2gmi *ctx, const char *path)
{
	if (ctx->opts->exists == NULL)
		return true;
	return ctx->opts->exists(ctx->opts->arg, path);
}

static bool
md_ends_with_ci(struct span s, const char *suf)
{
	size_t	n = strlen(suf);

	return s.n >= n && strncasecmp(s.p + s.n - n, suf, n) == 0;
}

#define URI_BIT(c)	(1ULL << ((c) & 63))

/* The bytes md_escape_uri leaves to url_escape_uri, one bit each. */
static const uint64_t md_uri_slow[4] = {
	((1ULL << 33) - 1) | URI_BIT('"') | URI_BIT('%') | URI_BIT('<') |
	    URI_BIT('>'),
	URI_BIT('\\') | URI_BIT('^') | URI_BIT('`') | URI_BIT('{') |
	    URI_BIT('|') | URI_BIT('}') | URI_BIT(0x7f),
	~0ULL,
	~0ULL
};

#ifdef __SSE2__
/* Is one of the 16 bytes at p in md_uri_slow? */
static inline bool
md_uri_slow16(const char *p)
{
	__m128i	v, m;

	v = _mm_loadu_si128((const __m128i *)(const void *)p);
	/* Signed: below '!' also takes in every byte from 0x80 up. */
	m = _mm_cmplt_epi8(v, _mm_set1_epi8('!'));
	/* '{', '|', '}' and DEL: above 'z' but not '~'. */
	m = _mm_or_si128(m, _mm_andnot_si128(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('~')), _mm_cmpgt_epi8(v, _mm_set1_epi8('z'))));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('%')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('^')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('`')));
	return _mm_movemask_epi8(m) != 0;
}
#endif

/*
 * url_escape_uri for a link with a scheme: most are plain ASCII that it
 * would copy unchanged, byte by byte, so those are copied whole.  The
 * bytes passed over are the ones it escapes (RFC 3986 never allows them)
 * and '%', which it keeps or escapes depending on what follows.
 */
static int
md_escape_uri(struct span s, struct buf *out)
{
	size_t		i = 0;
	unsigned char	c;

#ifdef __SSE2__
	if (s.n >= 16) {
		for (; i + 16 <= s.n; i += 16)
			if (md_uri_slow16(s.p + i))
				return url_escape_uri(s, out);
		if (i < s.n && md_uri_slow16(s.p + s.n - 16))
			return url_escape_uri(s, out);
		return buf_append(out, s.p, s.n);
	}
#endif
	for (; i < s.n; i++) {
		c = (unsigned char)s.p[i];
		if (md_uri_slow[c >> 6] & URI_BIT(c))
			return url_escape_uri(s, out);
	}
	return buf_append(out, s.p, s.n);
}

/*
 * Escape the post's URL for resolving, once per render, and note where
 * its directory ends when it is a path alone (no query, no fragment),
 * which is what md_join_plain needs.
 */
static int
md_base_ready(struct md2gmi *ctx)
{
	struct buf	*b = &ctx->base_esc;
	struct url	 u;
	size_t		 i;

	if (b->len > 0)
		return 0;
	if (url_escape_relative(span_cstr(ctx->base), b) == -1)
		return -1;
	ctx->base_dir = 0;
	if (url_split(buf_span(b), &u) == -1 || u.has_scheme ||
	    u.has_authority || u.has_query || u.has_fragment ||
	    u.path.n != b->len)
		return 0;
	for (i = b->len; i > 0 && b->p[i - 1] != '/'; i--)
		continue;
	ctx->base_dir = i;
	return 0;
}

/*
 * url_resolve for the common case, into ctx->rel_abs: a reference made
 * only of unreserved bytes and '/' (md_ref_plain) against a base that is
 * a path alone is the base's directory and the reference, dot segments
 * removed (RFC 3986 5.2.2-5.2.4); no splitting, no recomposing.  -1 for
 * any other case, which url_resolve then takes: a result starting "//"
 * is one it would guard.
 */
static int
md_join_plain(struct md2gmi *ctx, struct span ref)
{
	struct buf	*abs = &ctx->rel_abs;

	if (ctx->base_dir == 0 || !md_ref_plain(ref))
		return -1;
	buf_reset(abs);
	if ((ref.p[0] != '/' && buf_append(abs, ctx->base_esc.p,
	    ctx->base_dir) == -1) || buf_append_span(abs, ref) == -1)
		return -1;
	abs->len = url_remove_dots_inplace(abs->p, abs->len, NULL);
	if (abs->len >= 2 && abs->p[0] == '/' && abs->p[1] == '/')
		return -1;
	return 0;
}

/*
 * Map a relative reference to a capsule URL: resolve it against the post,
 * turn a .md target (or an Astro-style /slug/ route) into its .gmi page
 * and check that the target exists.  1 kept, 0 missing, -1 no memory.
 */
static int
md_rewrite_relative(struct md2gmi *ctx, struct span raw, struct buf *out)
{
	struct buf	*abs = &ctx->rel_abs, *fs = &ctx->rel_fs;
	struct url	 u;
	struct span	 path, rest;
	size_t		 flen;
	long		 hash;

	if (md_base_ready(ctx) == -1)
		return -1;
	buf_reset(fs);
	if (md_join_plain(ctx, raw) == 0) {
		path = buf_span(abs);
		rest = span_make(abs->p + abs->len, 0);
	} else {
		buf_reset(abs);
		if (md_resolve(buf_span(&ctx->base_esc), raw, &ctx->rel_ref,
		    abs) == -1)
			return -1;
		if (abs->len == 0 || url_split(buf_span(abs), &u) == -1)
			return 0;
		path = u.path;
		rest = span_make(path.p + path.n, abs->len - (size_t)(path.p +
		    path.n - abs->p));
	}
	if (md_capsule_path(path, fs) == -1)
		return 0;
	if (md_ends_with_ci(path, ".md")) {
		if (!md_exists(ctx, fs->p))
			return 0;
		path.n -= 3;
		/* The page of a post has no anchors to keep. */
		if (rest.n > 0 && rest.p[0] == '?') {
			if ((hash = span_index(rest, '#')) != -1)
				rest.n = (size_t)hash;
		} else
			rest.n = 0;
		return md_escape_uri(path, out) == -1 || buf_append(out,
		    ".gmi", 4) == -1 || md_escape_uri(rest, out) == -1 ? -1 : 1;
	}
	if (path.n > 1 && path.p[path.n - 1] == '/') {
		flen = fs->len;
		fs->p[flen - 1] = '\0';
		fs->len = flen - 1;
		if (buf_puts(fs, ".md") == 0 && buf_cstr(fs) != NULL &&
		    ctx->opts->exists != NULL && md_exists(ctx, fs->p))
			return md_escape_uri(span_make(path.p, path.n - 1),
			    out) == -1 || buf_append(out, ".gmi", 4) == -1 ?
			    -1 : 1;
		fs->len = flen - 1;
		if (buf_puts(fs, "/") == -1 || buf_cstr(fs) == NULL)
			return -1;
	}
	if (!md_exists(ctx, fs->p))
		return 0;
	return md_escape_uri(path, out) == -1 ||
	    md_escape_uri(rest, out) == -1 ? -1 : 1;
}

/*
 * The URL a link line should carry (R23, R27), appended to out: 1 kept,
 * 0 dropped (fragment-only, forbidden scheme, missing file), -1 on error.
 */
static int
md_rewrite(struct md2gmi *ctx, struct span href, bool image, struct buf *out)
{
	struct span	scheme;
	int		rc;

	while (href.n > 0 && (*href.p == ' ' || *href.p == '\t')) {
		href.p++;
		href.n--;
	}
	while (href.n > 0 && (href.p[href.n - 1] == ' ' ||
	    href.p[href.n - 1] == '\t'))
		href.n--;
	if (href.n == 0 || href.p[0] == '#' || href.n > MD2GMI_MAX_HREF)
		return 0;
	if ((scheme = url_scheme(href)).n > 0) {
		if (md_bad_scheme(scheme))
			return 0;
		return md_escape_uri(href, out) == -1 ? -1 : 1;
	}
	if (href.n >= 2 && href.p[0] == '/' && href.p[1] == '/')
		return md_escape_uri(href, out) == -1 ? -1 : 1;
	if ((rc = md_rewrite_relative(ctx, href, out)) == 0)
		fm_diag_add(ctx->diags, md_line_of(ctx, href), "%s to a "
		    "missing file: %.*s", image ? "image" : "link",
		    (int)(href.n > 200 ? 200 : href.n), href.p);
	return rc;
}

/*
 * Is s one line of plain text already, as md_label_copy makes it: no
 * control or DEL (markers are controls), no space at either end or next
 * to another?  Most labels are, and are copied whole.
 */
static bool
md_label_clean(struct span s)
{
	size_t		i = 0;
	unsigned	prev = 0;
	unsigned char	c;

	if (s.n > 0 && (s.p[0] == ' ' || s.p[s.n - 1] == ' '))
		return false;
#ifdef __SSE2__
	for (; i + 16 <= s.n; i += 16) {
		__m128i		v, sp;
		unsigned	spm;

		v = _mm_loadu_si128((const __m128i *)(const void *)(s.p + i));
		sp = _mm_cmpeq_epi8(v, _mm_set1_epi8(' '));
		spm = (unsigned)_mm_movemask_epi8(sp);
		if (md_bad16(v, false) != 0 || (spm & ((spm << 1) |
		    prev)) != 0)
			return false;
		prev = spm >> 15;
	}
	/* The last sixteen, overlapping: their pairs were not all seen. */
	if (i < s.n && s.n >= 16) {
		__m128i		v;
		unsigned	spm;

		v = _mm_loadu_si128((const __m128i *)(const void *)
		    (s.p + s.n - 16));
		spm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
		    _mm_set1_epi8(' ')));
		return md_bad16(v, false) == 0 && (spm & (spm << 1)) == 0;
	}
#endif
	for (; i < s.n; i++) {
		c = (unsigned char)s.p[i];
		if (c < 0x20 || c == 0x7f || (c == ' ' && prev))
			return false;
		prev = c == ' ';
	}
	return true;
}

/*
 * Labels are one line of plain text: markers dropped, each run of
 * controls and spaces one space, none at either end.  Writes at most s.n
 * bytes to d and returns how many.
 */
static size_t
md_label_copy(char *d, struct span s)
{
	size_t	i, n = 0;
	bool	sp = false;

	if (md_label_clean(s)) {
		memcpy(d, s.p, s.n);
		return s.n;
	}
	for (i = 0; i < s.n; i++) {
		unsigned char	c = (unsigned char)s.p[i];

		if (c == MARK_OPEN) {
			while (i < s.n && s.p[i] != MARK_CLOSE)
				i++;
			continue;
		}
		if (c <= 0x20 || c == 0x7f) {
			sp = n > 0;
			continue;
		}
		if (sp)
			d[n++] = ' ';
		sp = false;
		d[n++] = (char)c;
	}
	return n;
}

/* md_label_copy into a string of its own. */
static char *
md_label_dup(struct span s)
{
	char	*d;

	if ((d = mem_malloc(s.n + 1)) == NULL)
		return NULL;
	d[md_label_copy(d, s)] = '\0';
	return d;
}

static bool
md_link_url_is(const struct md2gmi *ctx, const struct md2gmi_link *l,
    struct span url)
{
	return l->url_len == url.n &&
	    memcmp(ctx->lnk.p + l->url, url.p, url.n) == 0;
}

static bool
md_link_label_is(const struct md2gmi *ctx, const struct md2gmi_link *l,
    struct span label)
{
	return l->label_len == label.n &&
	    memcmp(ctx->lnk.p + l->label, label.p, label.n) == 0;
}

/* Make room for one more link; 0 or -1. */
static int
md_links_grow(struct md2gmi *ctx)
{
	struct md2gmi_link	*nl;
	size_t			 ncap;

	if (ctx->nlinks < ctx->caplinks)
		return 0;
	ncap = ctx->caplinks ? ctx->caplinks * 2 : 16;
	if ((nl = mem_realloc(ctx->links, ncap * sizeof(*nl))) == NULL)
		return -1;
	ctx->links = nl;
	ctx->caplinks = ncap;
	return 0;
}

/*
 * Add a link to the current block: an index for its marker, or -1 when it
 * was dropped, -2 on error.  A URL already in the block is reused; two
 * links with the same text and different URLs get numbered.  The URL is
 * written where it will stay, at the end of ctx->lnk, and taken back when
 * the link is dropped or already there.
 */
static long
md_link_add(struct md2gmi *ctx, struct span href, struct span label,
    bool image)
{
	struct buf		*a = &ctx->lnk;
	struct md2gmi_link	*l;
	struct span		 url, lab;
	size_t			 i, start = a->len;
	int			 rc;

	if (ctx->total_links >= MD2GMI_MAX_LINKS)
		return -1;
	if ((rc = md_rewrite(ctx, href, image, a)) <= 0) {
		a->len = start;
		return rc == 0 ? -1 : -2;
	}
	url = span_make(a->p + start, a->len - start);
	/* The URL was made in a scratch buffer bounded by max_out. */
	if (url.n > ctx->opts->max_out)
		return -2;
	for (i = 0; i < ctx->nlinks; i++)
		if (md_link_url_is(ctx, &ctx->links[i], url)) {
			a->len = start;
			return (long)i;
		}
	if (md_links_grow(ctx) == -1 || buf_reserve(a, label.n) == -1) {
		a->len = start;
		return -2;
	}
	l = &ctx->links[ctx->nlinks];
	l->url = start;
	l->url_len = url.n;
	l->label = a->len;
	l->label_len = md_label_copy(a->p + a->len, label);
	l->numbered = false;
	a->len += l->label_len;
	lab = span_make(a->p + l->label, l->label_len);
	for (i = 0; lab.n > 0 && i < ctx->nlinks; i++)
		if ((image || (long)i != ctx->collide_skip) &&
		    ctx->links[i].label_len > 0 &&
		    md_link_label_is(ctx, &ctx->links[i], lab))
			ctx->links[i].numbered = l->numbered = true;
	ctx->total_links++;
	return (long)ctx->nlinks++;
}

static void
md_links_clear(struct md2gmi *ctx)
{
	ctx->nlinks = 0;
	buf_reset(&ctx->lnk);
}

/* Collecting inline text. */

#define SK_NOLABEL	0x1	/* markup that link labels leave out */
#define SK_COLLAPSE	0x2	/* HTML text: whitespace runs are one space */
#define SK_OURS		0x4	/* our own words: not the author's text */

/* Separators that may sit between links in a link-only block. */
static bool
md_is_separator(uint32_t c)
{
	return c == 0xa0 || c == 0xb7 || c == 0x2022 || c == 0x2013 ||
	    c == 0x2014 || c == 0x2027 || c == 0x2192 || c == 0x2023;
}

static void
md_note_text(struct md2gmi *ctx, struct span s)
{
	size_t		i = 0, k;
	uint32_t	c;

	if (ctx->other_text || ctx->link_nest > 0)
		return;
	while (i < s.n) {
		k = u8_decode((const unsigned char *)s.p + i, s.n - i, &c);
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= 0x80 &&
		    !md_is_separator(c))) {
			ctx->other_text = true;
			return;
		}
		i += k;
	}
}

/*
 * Append bytes with controls made harmless: TAB and line ends become
 * spaces (R6) and the rest U+FFFD, which also keeps our link markers
 * unambiguous.
 */
#define PC_COLLAPSE	0x1	/* whitespace runs are one space */
#define PC_MARKS	0x2	/* link markers pass (text already clean) */

static int
md_put_clean(struct buf *b, struct span s, unsigned fl)
{
	size_t		i = 0, run;
	unsigned	mask = BC_CTL;
	bool		collapse = (fl & PC_COLLAPSE) != 0;
	unsigned char	c;

	if (collapse)
		mask |= BC_SPACE;
	if (!(fl & PC_MARKS))
		mask |= BC_MARK;
	for (;;) {
		run = md_span_clean(s.p + i, s.n - i, mask);
		if (buf_append(b, s.p + i, run) == -1)
			return -1;
		if ((i += run) == s.n)
			return 0;
		c = (unsigned char)s.p[i++];
		if (c == ' ' || (md_bclass[c] & BC_WS)) {
			if (collapse && (b->len == 0 ||
			    b->p[b->len - 1] == ' ' ||
			    b->p[b->len - 1] == '\n'))
				continue;
			if (buf_putc(b, ' ') == -1)
				return -1;
		} else if (u8_put(b, 0xfffd) == -1)
			return -1;
	}
}

/* md_put_clean for the author's text, which is mostly clean already. */
static int
md_put_text(struct buf *b, struct span s)
{
	if (md_copy_clean(b, s, BC_CTL | BC_MARK))
		return 0;
	return md_put_clean(b, s, 0);
}

/*
 * Append text we collected ourselves: already clean, so it is copied
 * whole unless it holds a hard break, which is then a space as before.
 */
static int
md_put_collected(struct buf *b, struct span s)
{
	if (s.n > 0 && memchr(s.p, '\n', s.n) != NULL)
		return md_put_clean(b, s, PC_MARKS);
	return buf_append(b, s.p, s.n);
}

/* Pay an owed soft-break space, unless CJK text meets CJK text. */
static int
md_pay_space(struct md2gmi *ctx, struct span s)
{
	uint32_t	next;

	if (!ctx->soft)
		return 0;
	ctx->soft = false;
	if (ctx->line.len == 0 || ctx->line.p[ctx->line.len - 1] == ' ' ||
	    ctx->line.p[ctx->line.len - 1] == '\n')
		return 0;
	/* Only text that ends and text that starts past ASCII can be CJK. */
	if (s.n > 0 && (unsigned char)s.p[0] >= 0x80 &&
	    (unsigned char)ctx->line.p[ctx->line.len - 1] >= 0x80) {
		u8_decode((const unsigned char *)s.p, s.n, &next);
		if (u8_is_cjk(u8_last(&ctx->line)) && u8_is_cjk(next))
			return 0;
	}
	if (buf_putc(&ctx->line, ' ') == -1)
		return -1;
	if (ctx->link_nest > 0 && ctx->label.len > 0)
		return buf_putc(&ctx->label, ' ');
	return 0;
}

static int
md_sink(struct md2gmi *ctx, struct span s, unsigned flags)
{
	bool	collapse = (flags & SK_COLLAPSE) != 0;
	size_t	start;

	if (ctx->html_skip > 0 || s.n == 0)
		return 0;
	if (ctx->img_depth > 0)
		return (flags & SK_NOLABEL) ? 0 :
		    md_put_clean(&ctx->alt, s, collapse ? PC_COLLAPSE : 0);
	if (ctx->inl == INL_NONE)
		return 0;
	if (md_pay_space(ctx, s) == -1)
		return -1;
	if (!(flags & SK_OURS))
		md_note_text(ctx, s);
	start = ctx->line.len;
	if ((collapse ? md_put_clean(&ctx->line, s, PC_COLLAPSE) :
	    md_put_text(&ctx->line, s)) == -1)
		return -1;
	if (ctx->link_nest == 0 || (flags & SK_NOLABEL))
		return 0;
	/* Uncollapsed, the cleaning does not depend on what came before. */
	if (collapse)
		return md_put_clean(&ctx->label, s, PC_COLLAPSE);
	return buf_append(&ctx->label, ctx->line.p + start,
	    ctx->line.len - start);
}

static int
md_sink_cstr(struct md2gmi *ctx, const char *s, unsigned flags)
{
	return md_sink(ctx, span_cstr(s), flags);
}

/*
 * md_sink with SK_OURS | SK_NOLABEL for our own markup, n > 0 clean
 * bytes ("`", "~~"): there is nothing to clean and no label to feed.
 */
static int
md_sink_markup(struct md2gmi *ctx, const char *s, size_t n)
{
	if (ctx->html_skip > 0 || ctx->img_depth > 0 || ctx->inl == INL_NONE)
		return 0;
	if (ctx->soft && md_pay_space(ctx, span_make(s, n)) == -1)
		return -1;
	return buf_append(&ctx->line, s, n);
}

/* A hard break: a new line where the block keeps breaks, else a space. */
static int
md_break(struct md2gmi *ctx)
{
	if (ctx->img_depth > 0 || ctx->html_skip > 0)
		return 0;
	if (ctx->inl == INL_P || ctx->inl == INL_HTML) {
		ctx->soft = false;
		if (ctx->link_nest > 0 && buf_putc(&ctx->label, ' ') == -1)
			return -1;
		ctx->line_nl = true;
		return buf_putc(&ctx->line, '\n');
	}
	ctx->soft = true;
	return 0;
}

/*
 * Decimal digits of v into the end of a buffer of size MD_NUM_MAX; returns
 * where they start.  Numbers are written per link and per list item, too
 * often for the printf family.
 */
#define MD_NUM_MAX	24

static char *
md_num(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

/* Append pre, the number v and post. */
static int
md_put_num(struct buf *b, char pre, unsigned long long v, char post)
{
	char	 d[MD_NUM_MAX + 1], *p;

	d[MD_NUM_MAX] = post;
	p = md_num(d + MD_NUM_MAX, v);
	*--p = pre;
	return buf_append(b, p, (size_t)(d + MD_NUM_MAX + 1 - p));
}

static int
md_marker(struct md2gmi *ctx, long idx)
{
	if (idx < 0 || ctx->inl == INL_NONE || ctx->img_depth > 0)
		return 0;
	ctx->marked = true;
	return md_put_num(&ctx->line, MARK_OPEN, (unsigned long long)idx,
	    MARK_CLOSE);
}

static int
md_link_begin(struct md2gmi *ctx, struct span href)
{
	if (ctx->link_nest++ > 0)
		return 0;
	buf_reset(&ctx->href);
	buf_reset(&ctx->label);
	ctx->collide_skip = -1;
	ctx->link_dropped = href.n > MD2GMI_MAX_HREF;
	return ctx->link_dropped ? 0 : buf_append_span(&ctx->href, href);
}

/* Autolinks (R22): the text is the destination, maybe minus a scheme. */
static bool
md_is_autolink(struct span text, struct span href)
{
	static const struct {
		const char	*p;
		size_t		 n;
	} pfx[] = { { "", 0 }, { "http://", 7 }, { "https://", 8 },
	    { "mailto:", 7 } };
	size_t	i, n;

	if (text.n == 0 || href.n < text.n)
		return false;
	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		n = pfx[i].n;
		if (href.n == n + text.n && strncasecmp(href.p, pfx[i].p, n) ==
		    0 && memcmp(href.p + n, text.p, text.n) == 0)
			return true;
	}
	return false;
}

static int
md_link_end(struct md2gmi *ctx)
{
	struct span	label, href;
	long		idx;

	if (ctx->link_nest == 0 || --ctx->link_nest > 0)
		return 0;
	label = buf_span(&ctx->label);
	href = buf_span(&ctx->href);
	while (label.n > 0 && label.p[label.n - 1] == ' ')
		label.n--;
	while (label.n > 0 && label.p[0] == ' ') {
		label.p++;
		label.n--;
	}
	if (ctx->link_dropped)
		return 0;
	if (md_is_autolink(label, href))
		label.n = 0;
	if ((idx = md_link_add(ctx, href, label, false)) == -2)
		return -1;
	/* Only labelled links can need a number. */
	return label.n > 0 ? md_marker(ctx, idx) : 0;
}

static int
md_img_begin(struct md2gmi *ctx, struct span src)
{
	if (ctx->img_depth++ > 0)
		return 0;
	buf_reset(&ctx->alt);
	buf_reset(&ctx->code_src);
	return buf_append_span(&ctx->code_src, span_make(src.p,
	    src.n > MD2GMI_MAX_HREF ? 0 : src.n));
}

static int
md_img_end(struct md2gmi *ctx)
{
	struct span	 alt, src;
	const char	*slash;
	long		 idx;
	int		 rc;

	if (ctx->img_depth == 0 || --ctx->img_depth > 0)
		return 0;
	alt = buf_span(&ctx->alt);
	src = buf_span(&ctx->code_src);
	while (alt.n > 0 && alt.p[alt.n - 1] == ' ')
		alt.n--;
	while (alt.n > 0 && alt.p[0] == ' ') {
		alt.p++;
		alt.n--;
	}
	buf_reset(&ctx->tmp2);
	if (alt.n > 0)
		rc = buf_append_span(&ctx->tmp2, alt);
	else {
		slash = src.n ? memrchr(src.p, '/', src.n) : NULL;
		rc = buf_puts(&ctx->tmp2, "Image: ");
		if (rc == 0)
			rc = slash ? buf_append(&ctx->tmp2, slash + 1,
			    src.n - (size_t)(slash + 1 - src.p)) :
			    buf_append_span(&ctx->tmp2, src);
	}
	if (rc == -1)
		return -1;
	idx = md_link_add(ctx, src, buf_span(&ctx->tmp2), true);
	if (idx == -2)
		return -1;
	if (ctx->link_nest > 0 && !ctx->link_dropped) {
		ctx->collide_skip = idx;
		if (md_pay_space(ctx, alt) == -1 ||
		    md_put_clean(&ctx->label, alt, 0) == -1)
			return -1;
	}
	if ((alt.n > 0 ? md_sink_markup(ctx, "[image: ", 8) :
	    md_sink_markup(ctx, "[image", 6)) == -1 ||
	    md_sink(ctx, alt, SK_OURS | SK_NOLABEL) == -1 ||
	    md_sink_markup(ctx, "]", 1) == -1)
		return -1;
	return md_marker(ctx, idx);
}

/* Writing lines. */

/*
 * R6: would a client read this text line as something else?  Called for
 * every line, so the first byte picks the one prefix worth comparing.
 */
static bool
md_needs_escape(struct span s)
{
	while (s.n > 0 && s.p[0] == MARK_OPEN) {
		while (s.n > 0 && s.p[0] != MARK_CLOSE) {
			s.p++;
			s.n--;
		}
		if (s.n > 0) {
			s.p++;
			s.n--;
		}
	}
	if (s.n == 0)
		return false;
	switch (s.p[0]) {
	case '#':
	case '>':
		return true;
	case '=':
		return s.n >= 2 && s.p[1] == '>';
	case '`':
		return s.n >= 3 && s.p[1] == '`' && s.p[2] == '`';
	case '*':
		return s.n >= 2 && (s.p[1] == ' ' || s.p[1] == '\t');
	default:
		return false;
	}
}

static int
md_text_line(struct buf *out, struct span s, unsigned fl)
{
	if (md_needs_escape(s) && buf_putc(out, ' ') == -1)
		return -1;
	return md_put_clean(out, s, fl);
}

int
md2gmi_text_line(struct buf *out, struct span s)
{
	return md_text_line(out, s, 0);
}

/* s without its trailing spaces. */
static struct span
md_trim_end(struct span s)
{
	while (s.n > 0 && s.p[s.n - 1] == ' ')
		s.n--;
	return s;
}

static inline struct span
md_trim(struct span s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/*
 * Begin a line in the block: the ">" that separates quote parts, then
 * prefix.  Makes room for n more bytes and the newline, and returns where
 * they go; the caller writes them and adds n + 1 to the length.
 */
static inline char *
md_line_begin(struct md2gmi *ctx, struct span prefix, size_t n)
{
	struct buf	*b = ctx->out;
	size_t		 plen = prefix.n, head, i;
	bool		 sep = false;
	char		*d;

	if (ctx->qdepth > 0) {
		sep = ctx->q_sep && ctx->q_any;
		ctx->q_sep = false;
		ctx->q_any = true;
	}
	head = (sep ? 2 : 0) + plen;
	if ((d = buf_space(b, head + n + 1)) == NULL)
		return NULL;
	if (sep) {
		d[0] = '>';
		d[1] = '\n';
	}
	/* Prefixes are a few bytes: no call for them. */
	for (i = 0; i < plen; i++)
		d[head - plen + i] = prefix.p[i];
	b->len += head;
	return d + head;
}

/*
 * One line into the block (see md_line_begin).  Text with a hard break
 * still in it is rare and goes through md_put_collected.
 */
static int
md_put_line(struct md2gmi *ctx, struct span prefix, struct span text,
    bool escape)
{
	struct buf	*b = ctx->out;
	bool		 sp = escape && md_needs_escape(text);
	char		*d;

	if ((d = md_line_begin(ctx, prefix, ctx->line_nl ? 0 : sp +
	    text.n)) == NULL)
		return -1;
	if (ctx->line_nl)
		return (sp && buf_putc(b, ' ') == -1) ||
		    md_put_collected(b, text) == -1 ? -1 : buf_putc(b, '\n');
	if (sp)
		*d++ = ' ';
	memcpy(d, text.p, text.n);
	d[text.n] = '\n';
	b->len += sp + text.n + 1;
	return 0;
}
static bool
md_is_label(char c)
{
	return c == '-' || c == '_' || (c >= '0' && c <= '9') ||
	    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Can a '^' reach the text: is there one, or a numeric entity?  memchr,
 * because glibc's memmem is slow for two-byte needles.
 */
static bool
md_may_caret(struct span md)
{
	const char	*amp;
	size_t		 i;

	if (md.n == 0 || memchr(md.p, '^', md.n) != NULL)
		return md.n > 0;
	for (i = 0; i + 1 < md.n; i = (size_t)(amp - md.p) + 1) {
		if ((amp = memchr(md.p + i, '&', md.n - i - 1)) == NULL)
			return false;
		if (amp[1] == '#')
			return true;
	}
	return false;
}

/* R25: "[^1]" in running text reads as "[1]". */
static void
md_footnote_refs_slow(struct md2gmi *ctx)
{
	struct buf	*l = &ctx->line;
	const char	*hit;
	size_t		 i, j, o;

	/*
	 * Most lines have none; start rewriting at the first candidate.
	 * memchr, because glibc's memmem is slow for two-byte needles.
	 */
	for (i = 0; i + 1 < l->len; i = (size_t)(hit - l->p) + 1) {
		if ((hit = memchr(l->p + i, '[', l->len - i - 1)) == NULL)
			return;
		if (hit[1] == '^')
			break;
	}
	if (i + 1 >= l->len)
		return;
	o = (size_t)(hit - l->p);
	for (i = o; i < l->len; i++) {
		if (l->p[i] == '[' && i + 2 < l->len && l->p[i + 1] == '^') {
			for (j = i + 2; j < l->len && md_is_label(l->p[j]);
			    j++)
				;
			if (j < l->len && j > i + 2 && l->p[j] == ']') {
				l->p[o++] = '[';
				i++;
				continue;
			}
		}
		l->p[o++] = l->p[i];
	}
	l->len = o;
}

/* md_footnote_refs_slow, for a post where a '^' can reach the text. */
static inline void
md_footnote_refs(struct md2gmi *ctx)
{
	if (ctx->may_caret)
		md_footnote_refs_slow(ctx);
}

/* Write the collected line, one output line per hard break. */
static int
md_flush_text(struct md2gmi *ctx, struct span prefix, bool escape)
{
	struct span	 all, seg;
	const char	*nl;
	size_t		 i, start = 0;

	md_footnote_refs(ctx);
	all = buf_span(&ctx->line);
	/* Without a hard break the line is one segment. */
	while (!ctx->line_nl ? start == 0 : start <= all.n) {
		nl = ctx->line_nl && all.n > start ? memchr(all.p + start,
		    '\n', all.n - start) : NULL;
		i = nl != NULL ? (size_t)(nl - all.p) : all.n;
		seg = md_trim(span_make(all.p + start, i - start));
		start = i + 1;
		if (seg.n > 0 && md_put_line(ctx, prefix, seg, escape) == -1)
			return -1;
	}
	buf_reset(&ctx->line);
	ctx->soft = false;
	return 0;
}

/*
 * The marker that opens at s.p[i]: the index of its link when the link
 * wants its number shown, else -1; *end gets the offset after it.
 */
static long
md_mark_at(const struct md2gmi *ctx, struct span s, size_t i, size_t *end)
{
	size_t	j;
	long	idx = 0;

	for (j = i + 1; j < s.n && s.p[j] != MARK_CLOSE; j++)
		if (idx < 1000000)
			idx = idx * 10 + (s.p[j] - '0');
	*end = j + 1;
	if (idx < 0 || (size_t)idx >= ctx->nlinks ||
	    !ctx->links[idx].numbered)
		return -1;
	return idx;
}

/* Copy text into dst with link markers turned into "[n]" or nothing. */
static int
md_expand(struct md2gmi *ctx, struct span s, struct buf *dst)
{
	const char	*m;
	size_t		 i, start = 0, end;
	long		 idx;

	while (start < s.n && (m = memchr(s.p + start, MARK_OPEN,
	    s.n - start)) != NULL) {
		i = (size_t)(m - s.p);
		if (buf_append(dst, s.p + start, i - start) == -1)
			return -1;
		if ((idx = md_mark_at(ctx, s, i, &end)) != -1 &&
		    md_put_num(dst, '[', (unsigned long long)idx + 1, ']') ==
		    -1)
			return -1;
		start = end;
	}
	if (start < s.n)
		return buf_append(dst, s.p + start, s.n - start);
	return 0;
}

/*
 * Would "[n]" outgrow a marker from s.p[i] on: n gains a digit (index 9
 * becomes "[10]"), or the marker has no end?
 */
static bool
md_marks_grow(const struct md2gmi *ctx, struct span s, size_t i)
{
	const char	*m;
	size_t		 end;
	long		 idx, p;

	for (; i < s.n; i = end) {
		if ((m = memchr(s.p + i, MARK_OPEN, s.n - i)) == NULL)
			return false;
		if ((idx = md_mark_at(ctx, s, (size_t)(m - s.p), &end)) == -1)
			continue;
		if (end > s.n)
			return true;
		for (p = 10; p <= idx + 1; p *= 10)
			if (p == idx + 1)
				return true;
	}
	return false;
}

/*
 * md_expand of the bytes of b from off on, in place, since "[n]" is as
 * long as the marker it replaces; a block where it would be longer (see
 * md_marks_grow) is expanded through a copy.  0, or -1 when out of room.
 */
static int
md_expand_inplace(struct md2gmi *ctx, struct buf *b, size_t off)
{
	struct span	 s = span_make(b->p + off, b->len - off);
	char		*w, num[MD_NUM_MAX], *d;
	const char	*m;
	size_t		 i, start, end, k;
	long		 idx;

	if (s.n == 0 || (m = memchr(s.p, MARK_OPEN, s.n)) == NULL)
		return 0;
	start = (size_t)(m - s.p);
	if (md_marks_grow(ctx, s, start)) {
		buf_reset(&ctx->tmp);
		if (buf_append(&ctx->tmp, s.p, s.n) == -1)
			return -1;
		b->len = off;
		return md_expand(ctx, buf_span(&ctx->tmp), b);
	}
	w = b->p + off + start;
	do {
		i = (size_t)(m - s.p);
		memmove(w, s.p + start, i - start);
		w += i - start;
		if ((idx = md_mark_at(ctx, s, i, &end)) != -1) {
			d = md_num(num + MD_NUM_MAX, (unsigned long long)idx +
			    1);
			k = (size_t)(num + MD_NUM_MAX - d);
			*w++ = '[';
			memcpy(w, d, k);
			w += k;
			*w++ = ']';
		}
		start = end;
	} while (start < s.n && (m = memchr(s.p + start, MARK_OPEN,
	    s.n - start)) != NULL);
	if (start < s.n) {
		memmove(w, s.p + start, s.n - start);
		w += s.n - start;
	}
	b->len = (size_t)(w - b->p);
	return 0;
}

static int
md_sep(struct buf *b)
{
	return b->len > 0 ? buf_putc(b, '\n') : 0;
}

/* a + b, or SIZE_MAX when that does not fit. */
static size_t
md_add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/*
 * A top-level block is written straight into the output, after the blank
 * line that separates it from what came before, and taken back at its
 * end when it turns out to be bare links or a footnote.  Until then it
 * may use max_out bytes of its own, as if it had a buffer to itself; the
 * caller's ceiling is checked again when the block ends.
 */
static int
md_block_begin(struct md2gmi *ctx, MD_BLOCKTYPE type)
{
	struct buf	*out = ctx->out;

	ctx->link_only_ok = type == MD_BLOCK_P || type == MD_BLOCK_UL ||
	    type == MD_BLOCK_OL || type == MD_BLOCK_HTML;
	ctx->other_text = false;
	ctx->is_note = false;
	ctx->q_sep = false;
	ctx->q_any = false;
	ctx->marked = false;
	ctx->blk_mark = out->len;
	ctx->blk_start = out->len + (out->len > 0);
	out->max = md_add_sat(ctx->blk_start, ctx->opts->max_out);
	return ctx->blk_start > out->len ? buf_putc(out, '\n') : 0;
}

/* "=> URL [n] label" for link i, sized once. */
static int
md_link_line(struct md2gmi *ctx, struct buf *dst, size_t i)
{
	const struct md2gmi_link	*l = &ctx->links[i];
	char				 num[MD_NUM_MAX], *np = NULL, *d;
	size_t				 nn = 0, n;

	if (l->numbered) {
		np = md_num(num + MD_NUM_MAX, i + 1);
		nn = (size_t)(num + MD_NUM_MAX - np);
	}
	n = 3 + l->url_len + (l->numbered ? nn + 3 : 0) +
	    (l->label_len > 0 ? l->label_len + 1 : 0) + 1;
	if ((d = buf_space(dst, n)) == NULL)
		return -1;
	memcpy(d, "=> ", 3);
	memcpy(d + 3, ctx->lnk.p + l->url, l->url_len);
	d += 3 + l->url_len;
	if (l->numbered) {
		*d++ = ' ';
		*d++ = '[';
		memcpy(d, np, nn);
		d += nn;
		*d++ = ']';
	}
	if (l->label_len > 0) {
		*d++ = ' ';
		memcpy(d, ctx->lnk.p + l->label, l->label_len);
		d += l->label_len;
	}
	*d = '\n';
	dst->len += n;
	return 0;
}

/* R20/R21: the block, then a blank line and its links (or only them). */
static int
md_block_end(struct md2gmi *ctx)
{
	struct buf		*out = ctx->out;
	struct buf		*dst = ctx->is_note ? &ctx->notes : out;
	struct span		 text;
	size_t			 i;
	bool			 bare;

	bare = ctx->link_only_ok && !ctx->other_text && ctx->nlinks > 0;
	text = span_make(out->p + ctx->blk_start, out->len - ctx->blk_start);
	if (ctx->is_note && !bare && text.n > 0 && (md_sep(dst) == -1 ||
	    md_expand(ctx, text, dst) == -1))
		return -1;
	if (ctx->is_note || bare || text.n == 0)
		out->len = ctx->blk_mark;
	else if (ctx->marked) {
		/* "[n]" may outgrow the block's room; the ceiling is next. */
		out->max = SIZE_MAX / 2;
		if (md_expand_inplace(ctx, out, ctx->blk_start) == -1)
			return -1;
	}
	out->max = ctx->out_max;
	if (out->len > out->max)
		return -1;
	if (ctx->nlinks > 0 && md_sep(dst) == -1)
		return -1;
	for (i = 0; i < ctx->nlinks; i++)
		if (md_link_line(ctx, dst, i) == -1)
			return -1;
	ctx->info->nlinks += ctx->nlinks;
	md_links_clear(ctx);
	buf_reset(&ctx->line);
	ctx->line_nl = false;
	ctx->html_skip = 0;
	ctx->link_nest = 0;
	ctx->img_depth = 0;
	ctx->soft = false;
	return 0;
}

/* HTML (R19): tags stripped, text kept, img and a extracted. */

static const char *md_html_skip_tags[] = {
	"script", "style", "iframe", "form", "canvas", "dialog", "progress",
	"fieldset", "textarea", "noscript", "svg", "template", "object"
};

static const char *md_html_block_tags[] = {
	"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
	"tr", "table", "blockquote", "pre", "section", "article", "header",
	"footer", "figure", "figcaption", "hr", "dl", "dt", "dd", "details",
	"summary", "center", "nav", "aside", "main", "address", "caption"
};

static bool
md_in_list(const char *name, const char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(name, v[i]) == 0)
			return true;
	return false;
}

/* The value of attribute name inside a tag, raw, or an empty span. */
static struct span
md_html_attr(struct span tag, const char *name)
{
	size_t	i = 0, n = strlen(name), j;
	char	q;

	while (i < tag.n) {
		while (i < tag.n && (tag.p[i] == ' ' || tag.p[i] == '\t' ||
		    tag.p[i] == '\n' || tag.p[i] == '\r' || tag.p[i] == '/'))
			i++;
		j = i;
		while (i < tag.n && tag.p[i] != '=' && tag.p[i] != ' ' &&
		    tag.p[i] != '\t' && tag.p[i] != '\n' && tag.p[i] != '>')
			i++;
		if (i == j) {
			i++;
			continue;
		}
		if (i >= tag.n || tag.p[i] != '=') {
			continue;
		}
		{
			bool	match = i - j == n &&
			    strncasecmp(tag.p + j, name, n) == 0;
			size_t	vs, ve;

			i++;
			if (i < tag.n && (tag.p[i] == '"' ||
			    tag.p[i] == '\'')) {
				q = tag.p[i++];
				vs = i;
				while (i < tag.n && tag.p[i] != q)
					i++;
				ve = i;
				i++;
			} else {
				vs = i;
				while (i < tag.n && tag.p[i] != ' ' &&
				    tag.p[i] != '\t' && tag.p[i] != '\n' &&
				    tag.p[i] != '>')
					i++;
				ve = i;
			}
			if (match)
				return span_make(tag.p + vs, ve - vs);
		}
	}
	return span_make("", 0);
}

static int
md_html_img(struct md2gmi *ctx, struct span attrs)
{
	struct buf	*b = &ctx->tmp2;
	struct span	 alt;
	int		 rc;

	buf_reset(b);
	if (ent_decode_all(md_html_attr(attrs, "src"), b) == -1)
		return -1;
	if (md_img_begin(ctx, buf_span(b)) == -1)
		return -1;
	buf_reset(b);
	alt = md_html_attr(attrs, "alt");
	rc = ent_decode_all(alt, b);
	if (rc == 0)
		rc = md_sink(ctx, buf_span(b), 0);
	if (rc == 0)
		rc = md_img_end(ctx);
	return rc;
}

static int
md_html_a(struct md2gmi *ctx, struct span attrs)
{
	buf_reset(&ctx->tmp2);
	if (ent_decode_all(md_html_attr(attrs, "href"), &ctx->tmp2) == -1)
		return -1;
	return md_link_begin(ctx, buf_span(&ctx->tmp2));
}

/* One tag: name (lower case), whether it closes, and its attributes. */
static int
md_html_tag(struct md2gmi *ctx, const char *name, bool closing,
    bool selfclose, struct span attrs, bool block)
{
	if (md_in_list(name, md_html_skip_tags, sizeof(md_html_skip_tags) /
	    sizeof(md_html_skip_tags[0]))) {
		if (closing && ctx->html_skip > 0)
			ctx->html_skip--;
		else if (!closing && !selfclose)
			ctx->html_skip++;
		return 0;
	}
	if (ctx->html_skip > 0)
		return 0;
	if (strcmp(name, "br") == 0)
		return md_break(ctx);
	if (strcmp(name, "img") == 0)
		return closing ? 0 : md_html_img(ctx, attrs);
	if (strcmp(name, "a") == 0) {
		if (closing)
			return md_link_end(ctx);
		return selfclose ? 0 : md_html_a(ctx, attrs);
	}
	if (block && md_in_list(name, md_html_block_tags,
	    sizeof(md_html_block_tags) / sizeof(md_html_block_tags[0])))
		return md_break(ctx);
	return 0;
}

/* Skip from s.p[i] == '<' past the construct; parse tags on the way. */
static size_t
md_html_markup(struct md2gmi *ctx, struct span s, size_t i, bool block)
{
	const char	*end;
	char		 name[16];
	size_t		 j, k, n = 0;
	bool		 closing = false, selfclose;
	char		 q = 0;

	if (span_starts_with(span_make(s.p + i, s.n - i), "<!--")) {
		end = memmem(s.p + i + 4, s.n - i - 4, "-->", 3);
		return end ? (size_t)(end - s.p) + 3 : s.n;
	}
	j = i + 1;
	if (j < s.n && (s.p[j] == '!' || s.p[j] == '?')) {
		end = memchr(s.p + j, '>', s.n - j);
		return end ? (size_t)(end - s.p) + 1 : s.n;
	}
	if (j < s.n && s.p[j] == '/') {
		closing = true;
		j++;
	}
	if (j >= s.n || !((s.p[j] >= 'a' && s.p[j] <= 'z') ||
	    (s.p[j] >= 'A' && s.p[j] <= 'Z'))) {
		if (md_sink_cstr(ctx, "<", 0) == -1)
			ctx->err = true;
		return i + 1;
	}
	while (j < s.n && ((s.p[j] >= 'a' && s.p[j] <= 'z') ||
	    (s.p[j] >= 'A' && s.p[j] <= 'Z') || (s.p[j] >= '0' &&
	    s.p[j] <= '9') || s.p[j] == '-')) {
		if (n + 1 < sizeof(name))
			name[n++] = (char)(s.p[j] | 0x20);
		j++;
	}
	name[n] = '\0';
	for (k = j; k < s.n; k++) {
		if (q != 0) {
			if (s.p[k] == q)
				q = 0;
		} else if (s.p[k] == '"' || s.p[k] == '\'')
			q = s.p[k];
		else if (s.p[k] == '>')
			break;
	}
	selfclose = k > j && k < s.n && s.p[k - 1] == '/';
	if (md_html_tag(ctx, name, closing, selfclose, span_make(s.p + j,
	    k - j), block) == -1)
		ctx->err = true;
	return k < s.n ? k + 1 : s.n;
}

static int
md_html(struct md2gmi *ctx, struct span s, bool block)
{
	size_t		 i = 0, j;
	const char	*lt;

	while (i < s.n && !ctx->err) {
		if (s.p[i] == '<') {
			i = md_html_markup(ctx, s, i, block);
			continue;
		}
		lt = memchr(s.p + i, '<', s.n - i);
		j = lt ? (size_t)(lt - s.p) : s.n;
		if (ctx->html_skip == 0) {
			buf_reset(&ctx->tmp2);
			if (ent_decode_all(span_make(s.p + i, j - i),
			    &ctx->tmp2) == -1 || md_sink(ctx,
			    buf_span(&ctx->tmp2), block ? SK_COLLAPSE : 0) ==
			    -1)
				return -1;
		}
		i = j;
	}
	return ctx->err ? -1 : 0;
}

/* Containers. */

static int
md_inner(const struct md2gmi *ctx)
{
	int	d = ctx->cdepth;

	if (d == 0)
		return -1;
	return (int)ctx->ctr[(d > MD2GMI_MAX_NEST ? MD2GMI_MAX_NEST : d) - 1];
}

static void
md_push(struct md2gmi *ctx, enum md2gmi_ctr c)
{
	if (ctx->cdepth < MD2GMI_MAX_NEST)
		ctx->ctr[ctx->cdepth] = c;
	ctx->cdepth++;
}

static void
md_restore_inl(struct md2gmi *ctx)
{
	ctx->inl = md_inner(ctx) == CTR_LIST ? INL_LI : INL_NONE;
}

static struct md2gmi_list *
md_cur_list(struct md2gmi *ctx)
{
	int	d = ctx->ldepth > MD2GMI_MAX_NEST ? MD2GMI_MAX_NEST :
		    ctx->ldepth;

	return &ctx->lists[d > 0 ? d - 1 : 0];
}

/* Write the open item's text as its "* " line. */
static int
md_li_flush(struct md2gmi *ctx)
{
	struct md2gmi_list	*l = md_cur_list(ctx);
	struct span		 t;

	md_footnote_refs(ctx);
	t = md_trim(buf_span(&ctx->line));
	if (t.n > 0 || (!ctx->li_done && l->task)) {
		/* One line per item: hard breaks were already spaces. */
		if (md_put_line(ctx, span_make(l->prefix, l->plen), t,
		    false) == -1)
			return -1;
	}
	ctx->li_done = true;
	buf_reset(&ctx->line);
	ctx->soft = false;
	return 0;
}

/* A block that cannot sit inside an item's line ends that line first. */
static int
md_break_item(struct md2gmi *ctx)
{
	if (md_inner(ctx) == CTR_LIST && ctx->ldepth > 0)
		return md_li_flush(ctx);
	return 0;
}

static int
md_enter_list(struct md2gmi *ctx, bool ordered, unsigned start)
{
	struct md2gmi_list	*l;

	if (md_break_item(ctx) == -1)
		return -1;
	md_push(ctx, CTR_LIST);
	ctx->ldepth++;
	l = md_cur_list(ctx);
	l->ordered = ordered;
	l->num = start;
	l->task = false;
	l->prefix[0] = '\0';
	ctx->inl = INL_NONE;
	return 0;
}

static void
md_leave_list(struct md2gmi *ctx)
{
	ctx->cdepth--;
	ctx->ldepth--;
	/* Items of a nested list run on; a whole list ends a quote part. */
	if (ctx->qdepth > 0 && md_inner(ctx) == CTR_QUOTE)
		ctx->q_sep = true;
	md_restore_inl(ctx);
}

/*
 * Append the C string s to the item prefix p, which has room for every
 * combination md_enter_li makes (at most 2 + 4 + 12 + 4 bytes).
 */
static char *
md_prefix_cat(char *p, const char *s)
{
	while (*s != '\0')
		*p++ = *s++;
	return p;
}

/* R10/R11/R16: "* ", "* ◦ ", "* ▪ ", "N. ", "> • " and task boxes. */
static void
md_enter_li(struct md2gmi *ctx, const MD_BLOCK_LI_DETAIL *d)
{
	struct md2gmi_list	*l = md_cur_list(ctx);
	const char		*mark;
	char			*p = l->prefix, num[MD_NUM_MAX + 1];

	mark = ctx->ldepth <= 1 ? "" : ctx->ldepth == 2 ? "\u25e6 " :
	    "\u25aa ";
	if (l->ordered) {
		num[MD_NUM_MAX] = '\0';
		p = md_prefix_cat(p, ctx->qdepth > 0 ? "> " : "");
		p = md_prefix_cat(p, mark);
		p = md_prefix_cat(p, md_num(num + MD_NUM_MAX, l->num++));
		p = md_prefix_cat(p, ". ");
	} else if (ctx->qdepth > 0) {
		p = md_prefix_cat(p, "> ");
		p = md_prefix_cat(p, ctx->ldepth <= 1 ? "\u2022 " : mark);
	} else {
		p = md_prefix_cat(p, "* ");
		p = md_prefix_cat(p, mark);
	}
	l->task = d->is_task;
	if (d->is_task)
		p = md_prefix_cat(p, d->task_mark == ' ' ? "[ ] " : "[x] ");
	*p = '\0';
	l->plen = (size_t)(p - l->prefix);
	ctx->li_done = false;
	ctx->inl = INL_LI;
	buf_reset(&ctx->line);
	ctx->soft = false;
}

static int
md_enter_quote(struct md2gmi *ctx)
{
	if (md_break_item(ctx) == -1)
		return -1;
	md_push(ctx, CTR_QUOTE);
	ctx->qdepth++;
	ctx->inl = INL_NONE;
	return 0;
}

static void
md_leave_quote(struct md2gmi *ctx)
{
	ctx->cdepth--;
	ctx->qdepth--;
	ctx->q_sep = true;
	md_restore_inl(ctx);
}

/* Paragraphs and headings. */

static void
md_enter_p(struct md2gmi *ctx)
{
	if (md_inner(ctx) == CTR_LIST)
		return;
	ctx->inl = INL_P;
	buf_reset(&ctx->line);
	ctx->soft = false;
}

/* R25: a top-level "[^x]: text" paragraph moves to the Notes section. */
static void
md_footnote_def(struct md2gmi *ctx)
{
	struct buf	*l = &ctx->line;
	size_t		 i;

	if (ctx->depth != 1 || l->len < 5 || l->p[0] != '[' ||
	    l->p[1] != '^')
		return;
	for (i = 2; i < l->len && l->p[i] != ']' && l->p[i] != ' '; i++)
		;
	if (i + 1 >= l->len || l->p[i] != ']' || l->p[i + 1] != ':' ||
	    i == 2)
		return;
	memmove(l->p + i + 1, l->p + i + 2, l->len - i - 2);
	l->len--;
	ctx->is_note = true;
}

static int
md_leave_p(struct md2gmi *ctx)
{
	if (md_inner(ctx) == CTR_LIST) {
		ctx->soft = true;
		return 0;
	}
	if (ctx->qdepth > 0) {
		if (md_flush_text(ctx, span_cstr("> "), false) == -1)
			return -1;
		ctx->q_sep = true;
	} else {
		md_footnote_def(ctx);
		if (md_flush_text(ctx, span_cstr(""), true) == -1)
			return -1;
	}
	md_restore_inl(ctx);
	return 0;
}

static void
md_enter_h(struct md2gmi *ctx, const MD_BLOCK_H_DETAIL *d)
{
	if (md_inner(ctx) == CTR_LIST)
		return;
	ctx->h_level = (int)d->level;
	ctx->inl = ctx->qdepth > 0 ? INL_P : INL_H;
	buf_reset(&ctx->line);
	ctx->soft = false;
}

/* Case and spacing do not make two titles different (R9). */
static bool
md_same_title(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if ((*a | 0x20) != (*b | 0x20) && *a != *b)
			return false;
		a++;
		b++;
	}
}

static int
md_leave_h(struct md2gmi *ctx)
{
	static const char	*hashes[] = { "# ", "## ", "### " };
	struct md2gmi_info	*info = ctx->info;
	struct span		 t;
	char			*plain;
	int			 k;

	if (md_inner(ctx) == CTR_LIST) {
		ctx->soft = true;
		return 0;
	}
	if (ctx->qdepth > 0)
		return md_leave_p(ctx);
	md_footnote_refs(ctx);
	t = md_trim(buf_span(&ctx->line));
	ctx->inl = INL_NONE;
	if (t.n == 0)
		return 0;
	if (ctx->h_level == 1 && ctx->depth == 1 && info->first_h1 == NULL) {
		if ((plain = md_label_dup(t)) == NULL)
			return -1;
		info->first_h1 = plain;
		if (ctx->blk_mark == ctx->out_start && ctx->notes.len == 0 &&
		    (ctx->opts->title == NULL ||
		    md_same_title(ctx->opts->title, plain))) {
			/* The header already says it. */
			info->dropped_h1 = true;
			md_links_clear(ctx);
			buf_reset(&ctx->line);
			return 0;
		}
	}
	k = ctx->h_level > 3 ? 2 : ctx->h_level - 1;
	if (md_put_line(ctx, span_make(hashes[k], (size_t)k + 2), t,
	    false) == -1)
		return -1;
	buf_reset(&ctx->line);
	return 0;
}

/* Code blocks (R12) and HTML blocks. */

static int
md_enter_code(struct md2gmi *ctx, const MD_BLOCK_CODE_DETAIL *d)
{
	struct span	alt;
	size_t		i;

	if (md_break_item(ctx) == -1)
		return -1;
	buf_reset(&ctx->tmp2);
	if (attr_decode(&d->lang, &ctx->tmp2) == -1)
		return -1;
	alt = md_trim(buf_span(&ctx->tmp2));
	if (alt.n >= sizeof(ctx->code_alt))
		alt.n = sizeof(ctx->code_alt) - 1;
	for (i = 0; i < alt.n; i++) {
		unsigned char	c = (unsigned char)alt.p[i];

		ctx->code_alt[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	ctx->code_alt[alt.n] = '\0';
	ctx->in_code_block = true;
	ctx->other_text = true;
	/* The text follows the opening toggle straight into the block. */
	if (buf_puts(ctx->out, "```") == -1 ||
	    buf_puts(ctx->out, ctx->code_alt) == -1 ||
	    buf_putc(ctx->out, '\n') == -1)
		return -1;
	ctx->code_start = ctx->out->len;
	return 0;
}

/* Does a line of the code start with a toggle ("```")? */
static bool
md_code_toggles(struct span all)
{
	const char	*q;
	size_t		 i;

	for (i = 0; i + 3 <= all.n; i = (size_t)(q - all.p) + 1) {
		if ((q = memchr(all.p + i, '`', all.n - i - 2)) == NULL)
			return false;
		if ((q == all.p || q[-1] == '\n') && q[1] == '`' && q[2] == '`')
			return true;
	}
	return false;
}

/*
 * The code's lines, each ended by a newline, the last newline of the code
 * not making a line of its own, and a space before a line that starts
 * with a toggle, which would close the block early.
 */
static int
md_code_lines(struct buf *b, struct span all)
{
	struct span	 ln;
	const char	*nl;
	size_t		 i, start = 0;

	if (all.n > 0 && all.p[all.n - 1] == '\n')
		all.n--;
	while (all.n > 0 && start <= all.n) {
		nl = all.n > start ? memchr(all.p + start, '\n',
		    all.n - start) : NULL;
		i = nl != NULL ? (size_t)(nl - all.p) : all.n;
		ln = span_make(all.p + start, i - start);
		start = i + 1;
		if (span_starts_with(ln, "```") && buf_putc(b, ' ') == -1)
			return -1;
		if (buf_append_span(b, ln) == -1 || buf_putc(b, '\n') == -1)
			return -1;
	}
	return 0;
}

/* Code text keeps TAB and newlines; other controls become U+FFFD. */
static int
md_code_text(struct md2gmi *ctx, struct span s)
{
	size_t	i = 0, run;

	if (md_copy_md(ctx, ctx->out, s, BC_CODE))
		return 0;
	for (;;) {
		run = md_span_clean(s.p + i, s.n - i, BC_CODE);
		if (buf_append(ctx->out, s.p + i, run) == -1)
			return -1;
		if ((i += run) == s.n)
			return 0;
		if (u8_put(ctx->out, 0xfffd) == -1)
			return -1;
		i++;
	}
}

/*
 * Code text went straight into the block.  Without a toggle inside,
 * md_code_lines would leave it as it is but for a missing last newline,
 * and a lone newline is no line at all; only code with a toggle is
 * rewritten line by line.
 */
static int
md_leave_code(struct md2gmi *ctx)
{
	struct buf	*b = ctx->out;
	struct span	 all;

	all = span_make(b->p + ctx->code_start, b->len - ctx->code_start);
	if (md_code_toggles(all)) {
		buf_reset(&ctx->tmp);
		if (buf_append_span(&ctx->tmp, all) == -1)
			return -1;
		b->len = ctx->code_start;
		if (md_code_lines(b, buf_span(&ctx->tmp)) == -1)
			return -1;
	} else if (all.n == 1 && all.p[0] == '\n')
		b->len = ctx->code_start;
	else if (all.n > 0 && all.p[all.n - 1] != '\n' &&
	    buf_putc(b, '\n') == -1)
		return -1;
	if (buf_puts(b, "```\n") == -1)
		return -1;
	ctx->in_code_block = false;
	if (ctx->qdepth > 0)
		ctx->q_sep = true;
	md_restore_inl(ctx);
	return 0;
}

static void
md_enter_html(struct md2gmi *ctx)
{
	buf_reset(&ctx->code);
	ctx->in_html_block = true;
	if (md_inner(ctx) != CTR_LIST) {
		ctx->inl = INL_HTML;
		buf_reset(&ctx->line);
		ctx->soft = false;
	}
}

static int
md_leave_html(struct md2gmi *ctx)
{
	int	rc;

	ctx->in_html_block = false;
	rc = md_html(ctx, buf_span(&ctx->code), true);
	ctx->html_skip = 0;
	if (rc == -1 || md_inner(ctx) == CTR_LIST)
		return rc;
	if (ctx->qdepth > 0) {
		rc = md_flush_text(ctx, span_cstr("> "), false);
		ctx->q_sep = true;
	} else
		rc = md_flush_text(ctx, span_cstr(""), true);
	md_restore_inl(ctx);
	return rc;
}

static int
md_hr(struct md2gmi *ctx)
{
	if (md_inner(ctx) == CTR_LIST)
		return md_break_item(ctx);
	return md_put_line(ctx, span_cstr(ctx->qdepth > 0 ? "> " : ""),
	    span_cstr("---"), false);
}

/* Tables (R17). */

static int
md_enter_table(struct md2gmi *ctx, const MD_BLOCK_TABLE_DETAIL *d)
{
	struct md2gmi_table	*t = &ctx->tbl;

	if (md_break_item(ctx) == -1)
		return -1;
	t->ncols = d->col_count;
	t->col = 0;
	t->rows = 0;
	t->ncells = 0;
	t->in_head = false;
	memset(t->align, 0, sizeof(t->align));
	buf_reset(&t->text);
	ctx->other_text = true;
	return 0;
}

static void
md_enter_cell(struct md2gmi *ctx, const MD_BLOCK_TD_DETAIL *d)
{
	struct md2gmi_table	*t = &ctx->tbl;

	if (t->in_head && t->col < MD2GMI_MAX_COLS)
		t->align[t->col] = d->align;
	ctx->inl = INL_TD;
	buf_reset(&ctx->line);
	ctx->soft = false;
}

static inline int
md_add_cell(struct md2gmi *ctx, struct span s)
{
	struct md2gmi_table	*t = &ctx->tbl;
	struct md2gmi_cell	*nc;
	size_t			 ncap;

	if (t->ncells >= MD2GMI_MAX_CELLS)
		return -1;
	if (t->ncells == t->cap) {
		ncap = t->cap ? t->cap * 2 : 64;
		if ((nc = mem_realloc(t->cells, ncap * sizeof(*nc))) == NULL)
			return -1;
		t->cells = nc;
		t->cap = ncap;
	}
	t->cells[t->ncells].off = t->text.len;
	t->cells[t->ncells].len = s.n;
	t->ncells++;
	t->col++;
	return buf_append_span(&t->text, s);
}

static int
md_leave_cell(struct md2gmi *ctx)
{
	int	rc;

	md_footnote_refs(ctx);
	rc = ctx->tbl.col < ctx->tbl.ncols ?
	    md_add_cell(ctx, md_trim(buf_span(&ctx->line))) : 0;
	buf_reset(&ctx->line);
	ctx->inl = INL_NONE;
	return rc;
}

static int
md_leave_row(struct md2gmi *ctx)
{
	struct md2gmi_table	*t = &ctx->tbl;

	while (t->col < t->ncols)
		if (md_add_cell(ctx, span_make("", 0)) == -1)
			return -1;
	t->col = 0;
	t->rows++;
	return 0;
}

static struct span
md_cell(const struct md2gmi_table *t, const struct buf *text, unsigned r,
    unsigned c)
{
	const struct md2gmi_cell	*cl;

	cl = &t->cells[(size_t)r * t->ncols + c];
	return span_make(text->p + cl->off, cl->len);
}

/* Append n copies of byte c. */
static int
md_fill(struct buf *b, char c, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memset(b->p + b->len, c, n);
	b->len += n;
	return 0;
}

/* Write row r, padded by display width, untrimmed, at d (n bytes). */
static void
md_grid_cells(struct md2gmi *ctx, const struct buf *text, unsigned r,
    const size_t *w, char *d)
{
	struct md2gmi_table		*t = &ctx->tbl;
	const struct md2gmi_cell	*cl = &t->cells[(size_t)r * t->ncols];
	size_t				 pad, left;
	unsigned			 c;

	for (c = 0; c < t->ncols; c++) {
		pad = w[c] - cl[c].cols;
		left = t->align[c] == MD_ALIGN_RIGHT ? pad :
		    t->align[c] == MD_ALIGN_CENTER ? pad / 2 : 0;
		if (c > 0) {
			memcpy(d, " | ", 3);
			d += 3;
		}
		memset(d, ' ', left);
		memcpy(d + left, text->p + cl[c].off, cl[c].len);
		d += left + cl[c].len;
		memset(d, ' ', pad - left);
		d += pad - left;
	}
}

/*
 * One grid row, padded by display width, trailing spaces trimmed.  The row
 * used to be built apart (in a buffer of max_out bytes) and then copied;
 * it is written in place when there is room for it untrimmed, which is
 * all but always, and built apart otherwise, so that the same rows fail.
 */
static int
md_grid_row(struct md2gmi *ctx, const struct buf *text, unsigned r,
    const size_t *w)
{
	struct md2gmi_table		*t = &ctx->tbl;
	struct buf			*b = ctx->out, *tmp = &ctx->tmp;
	const struct md2gmi_cell	*cl = &t->cells[(size_t)r * t->ncols];
	struct span			 row;
	size_t				 n = 0, start = b->len;
	unsigned			 c;
	char				*d;

	for (c = 0; c < t->ncols; c++)
		n += (c > 0 ? 3 : 0) + cl[c].len + w[c] - cl[c].cols;
	if (n > tmp->max)
		return -1;
	if (n + 2 > b->max - b->len) {
		buf_reset(tmp);
		if ((d = buf_space(tmp, n)) == NULL)
			return -1;
		md_grid_cells(ctx, text, r, w, d);
		tmp->len = n;
		row = md_trim_end(buf_span(tmp));
		return (span_starts_with(row, "```") && buf_putc(b, ' ') ==
		    -1) || buf_append_span(b, row) == -1 ? -1 :
		    buf_putc(b, '\n');
	}
	if ((d = buf_space(b, n + 2)) == NULL)
		return -1;
	md_grid_cells(ctx, text, r, w, d);
	while (n > 0 && b->p[start + n - 1] == ' ')
		n--;
	/* A row that starts with a toggle would close the grid early. */
	if (n >= 3 && memcmp(b->p + start, "```", 3) == 0) {
		memmove(b->p + start + 1, b->p + start, n);
		b->p[start] = ' ';
		n++;
	}
	b->p[start + n] = '\n';
	b->len = start + n + 1;
	return 0;
}static int
md_table_grid(struct md2gmi *ctx, const struct buf *text, const size_t *w)
{
	struct md2gmi_table	*t = &ctx->tbl;
	unsigned		 r, c;

	if (buf_puts(ctx->out, "```table\n") == -1 ||
	    md_grid_row(ctx, text, 0, w) == -1)
		return -1;
	for (c = 0; c < t->ncols; c++) {
		if (c > 0 && buf_append(ctx->out, "-+-", 3) == -1)
			return -1;
		if (md_fill(ctx->out, '-', w[c]) == -1)
			return -1;
	}
	if (buf_putc(ctx->out, '\n') == -1)
		return -1;
	for (r = 1; r < t->rows; r++)
		if (md_grid_row(ctx, text, r, w) == -1)
			return -1;
	return buf_puts(ctx->out, "```\n");
}

/* Too wide to read on a phone: "* Col: value · Col: value" per row. */
static int
md_table_list(struct md2gmi *ctx, const struct buf *text)
{
	struct md2gmi_table	*t = &ctx->tbl;
	struct span		 h, v;
	unsigned		 r, c;
	size_t			 n;
	char			*d;
	bool			 any;

	for (r = t->rows > 1 ? 1 : 0; r < t->rows; r++) {
		for (n = 0, c = 0; c < t->ncols; c++) {
			h = md_cell(t, text, 0, c);
			v = md_cell(t, text, r, c);
			if (v.n > 0)
				n += (n > 0 ? 4 : 0) + (r > 0 && h.n > 0 ?
				    h.n + 2 : 0) + v.n;
		}
		if (n == 0)
			continue;
		/* The row used to be built apart, in max_out bytes. */
		if (n > ctx->tmp.max)
			return -1;
		if ((d = md_line_begin(ctx, span_cstr(ctx->qdepth > 0 ?
		    "> \u2022 " : "* "), n)) == NULL)
			return -1;
		for (any = false, c = 0; c < t->ncols; c++) {
			h = md_cell(t, text, 0, c);
			v = md_cell(t, text, r, c);
			if (v.n == 0)
				continue;
			if (any) {
				memcpy(d, " \u00b7 ", 4);
				d += 4;
			}
			if (r > 0 && h.n > 0) {
				memcpy(d, h.p, h.n);
				memcpy(d + h.n, ": ", 2);
				d += h.n + 2;
			}
			memcpy(d, v.p, v.n);
			d += v.n;
			any = true;
		}
		*d = '\n';
		ctx->out->len += n + 1;
	}
	return 0;
}
/*
 * The cell text with link markers turned into "[n]", so that widths are
 * final, and each cell's width; NULL on error.  Most tables hold no link
 * and keep their text as it is.
 */
static const struct buf *
md_table_cells(struct md2gmi *ctx)
{
	struct md2gmi_table	*t = &ctx->tbl;
	struct buf		*ex = &t->ex;
	struct md2gmi_cell	*cl;
	size_t			 i, off;
	bool			 ascii;

	if (t->text.len > 0 && memchr(t->text.p, MARK_OPEN,
	    t->text.len) == NULL) {
		/* In an ASCII table every cell is as wide as it is long. */
		ascii = md_all_ascii(buf_span(&t->text));
		for (i = 0; i < t->ncells; i++) {
			cl = &t->cells[i];
			cl->cols = ascii || cl->len == 0 ? cl->len :
			    u8_columns(span_make(t->text.p + cl->off,
			    cl->len));
		}
		return &t->text;
	}
	buf_reset(ex);
	for (i = 0; i < t->ncells; i++) {
		cl = &t->cells[i];
		off = ex->len;
		if (md_expand(ctx, span_make(t->text.p + cl->off, cl->len),
		    ex) == -1)
			return NULL;
		cl->off = off;
		cl->len = ex->len - off;
		cl->cols = ex->len == off ? 0 :
		    u8_columns(span_make(ex->p + off, ex->len - off));
	}
	if (ex->p == NULL && buf_reserve(ex, 1) == -1)
		return NULL;
	return ex;
}

static int
md_leave_table(struct md2gmi *ctx)
{
	struct md2gmi_table	*t = &ctx->tbl;
	const struct buf	*ex;
	size_t			 w[MD2GMI_MAX_COLS], total = 0, i;
	int			 rc;

	if ((ex = md_table_cells(ctx)) == NULL)
		return -1;
	if (t->rows == 0 || t->ncols == 0)
		rc = 0;
	else if (t->ncols > MD2GMI_MAX_COLS)
		rc = md_table_list(ctx, ex);
	else {
		for (i = 0; i < t->ncols; i++) {
			unsigned	r;

			w[i] = 1;
			for (r = 0; r < t->rows; r++) {
				size_t	cw = t->cells[(size_t)r * t->ncols +
				    i].cols;

				if (cw > w[i])
					w[i] = cw;
			}
			total += w[i] + (i > 0 ? 3 : 0);
		}
		rc = total > MD2GMI_TABLE_WIDTH ? md_table_list(ctx, ex) :
		    md_table_grid(ctx, ex, w);
	}
	if (ctx->qdepth > 0)
		ctx->q_sep = true;
	md_restore_inl(ctx);
	return rc;
}

/* md4c callbacks, shaped like md4c-html.c. */

/*
 * The time budget.  A worker renders while its other clients wait, so a
 * post that takes too long is abandoned.  The coarse clock is a vDSO
 * read of a few nanoseconds; reading it every few thousand callbacks
 * keeps its cost out of sight while bounding the overrun to about that
 * many callbacks.
 */
static void
md_budget_start(struct md2gmi *ctx)
{
	unsigned long	ms = ctx->opts->budget_ms;

	ctx->ticks = MD2GMI_CLOCK_EVERY;
	if (ms == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ctx->deadline);
	ctx->deadline.tv_sec += (time_t)(ms / 1000);
	ctx->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ctx->deadline.tv_nsec >= 1000000000L) {
		ctx->deadline.tv_sec++;
		ctx->deadline.tv_nsec -= 1000000000L;
	}
}

static bool
md_budget_spent(struct md2gmi *ctx)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return now.tv_sec > ctx->deadline.tv_sec ||
	    (now.tv_sec == ctx->deadline.tv_sec &&
	    now.tv_nsec >= ctx->deadline.tv_nsec);
}

/* Read the clock, if there is a budget: -1 once it is spent. */
static int
md_cb_clock(struct md2gmi *ctx)
{
	ctx->ticks = MD2GMI_CLOCK_EVERY;
	if (ctx->opts->budget_ms == 0 || !md_budget_spent(ctx))
		return 0;
	ctx->timed_out = true;
	ctx->err = true;
	return -1;
}

/*
 * Every callback starts here: -1 once something failed or time is up.
 * Inline, because it runs for every callback and rarely reads the clock.
 */
static inline int
md_cb_check(struct md2gmi *ctx)
{
	if (ctx->err)
		return -1;
	if (--ctx->ticks > 0)
		return 0;
	return md_cb_clock(ctx);
}

static int
md_enter_block_cb(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md2gmi	*ctx = ud;
	int		 rc = 0;

	if (md_cb_check(ctx) == -1)
		return -1;
	if (type == MD_BLOCK_DOC)
		return 0;
	if (ctx->depth++ == 0 && md_block_begin(ctx, type) == -1) {
		ctx->err = true;
		return -1;
	}
	switch (type) {
	case MD_BLOCK_QUOTE:
		rc = md_enter_quote(ctx);
		break;
	case MD_BLOCK_UL:
		rc = md_enter_list(ctx, false, 1);
		break;
	case MD_BLOCK_OL:
		rc = md_enter_list(ctx, true,
		    ((MD_BLOCK_OL_DETAIL *)detail)->start);
		break;
	case MD_BLOCK_LI:
		md_enter_li(ctx, detail);
		break;
	case MD_BLOCK_HR:
		rc = md_hr(ctx);
		break;
	case MD_BLOCK_H:
		md_enter_h(ctx, detail);
		break;
	case MD_BLOCK_CODE:
		rc = md_enter_code(ctx, detail);
		break;
	case MD_BLOCK_HTML:
		md_enter_html(ctx);
		break;
	case MD_BLOCK_P:
		md_enter_p(ctx);
		break;
	case MD_BLOCK_TABLE:
		rc = md_enter_table(ctx, detail);
		break;
	case MD_BLOCK_THEAD:
		ctx->tbl.in_head = true;
		break;
	case MD_BLOCK_TBODY:
		ctx->tbl.in_head = false;
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		md_enter_cell(ctx, detail);
		break;
	default:
		break;
	}
	if (rc == -1)
		ctx->err = true;
	return rc == -1 ? -1 : 0;
}

static int
md_leave_block_cb(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md2gmi	*ctx = ud;
	int		 rc = 0;

	(void)detail;
	if (md_cb_check(ctx) == -1)
		return -1;
	if (type == MD_BLOCK_DOC)
		return 0;
	switch (type) {
	case MD_BLOCK_QUOTE:
		md_leave_quote(ctx);
		break;
	case MD_BLOCK_UL:
	case MD_BLOCK_OL:
		md_leave_list(ctx);
		break;
	case MD_BLOCK_LI:
		rc = md_li_flush(ctx);
		ctx->inl = INL_NONE;
		break;
	case MD_BLOCK_H:
		rc = md_leave_h(ctx);
		break;
	case MD_BLOCK_CODE:
		rc = md_leave_code(ctx);
		break;
	case MD_BLOCK_HTML:
		rc = md_leave_html(ctx);
		break;
	case MD_BLOCK_P:
		rc = md_leave_p(ctx);
		break;
	case MD_BLOCK_TABLE:
		rc = md_leave_table(ctx);
		break;
	case MD_BLOCK_TR:
		rc = md_leave_row(ctx);
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		rc = md_leave_cell(ctx);
		break;
	default:
		break;
	}
	if (rc == 0 && --ctx->depth == 0)
		rc = md_block_end(ctx);
	if (rc == -1)
		ctx->err = true;
	return rc == -1 ? -1 : 0;
}

/*
 * An attribute decoded: most are one run of plain text, which needs no
 * decoding and is used where it is; the rest are decoded into ctx->tmp2.
 */
static int
md_attr(struct md2gmi *ctx, const MD_ATTRIBUTE *a, struct span *out)
{
	if (a->text == NULL || a->size == 0) {
		*out = span_make("", 0);
		return 0;
	}
	if (a->substr_types[0] == MD_TEXT_NORMAL &&
	    a->substr_offsets[0] == 0 && a->substr_offsets[1] == a->size &&
	    a->size <= ctx->tmp2.max) {
		*out = span_make(a->text, a->size);
		return 0;
	}
	buf_reset(&ctx->tmp2);
	if (attr_decode(a, &ctx->tmp2) == -1)
		return -1;
	*out = buf_span(&ctx->tmp2);
	return 0;
}

static int
md_enter_span_cb(MD_SPANTYPE type, void *detail, void *ud)
{
	struct md2gmi	*ctx = ud;
	struct span	 href;
	int		 rc = 0;

	if (md_cb_check(ctx) == -1)
		return -1;
	switch (type) {
	case MD_SPAN_A:
		rc = md_attr(ctx, &((MD_SPAN_A_DETAIL *)detail)->href, &href);
		if (rc == 0)
			rc = md_link_begin(ctx, href);
		break;
	case MD_SPAN_IMG:
		rc = md_attr(ctx, &((MD_SPAN_IMG_DETAIL *)detail)->src, &href);
		if (rc == 0)
			rc = md_img_begin(ctx, href);
		break;
	case MD_SPAN_CODE:
		ctx->in_code_span = true;
		if (ctx->inl != INL_H)
			rc = md_sink_markup(ctx, "`", 1);
		break;
	case MD_SPAN_DEL:
		if (ctx->inl != INL_H)
			rc = md_sink_markup(ctx, "~~", 2);
		break;
	default:
		break;
	}
	if (rc == -1)
		ctx->err = true;
	return rc == -1 ? -1 : 0;
}

static int
md_leave_span_cb(MD_SPANTYPE type, void *detail, void *ud)
{
	struct md2gmi	*ctx = ud;
	int		 rc = 0;

	(void)detail;
	if (md_cb_check(ctx) == -1)
		return -1;
	switch (type) {
	case MD_SPAN_A:
		rc = md_link_end(ctx);
		break;
	case MD_SPAN_IMG:
		rc = md_img_end(ctx);
		break;
	case MD_SPAN_CODE:
		ctx->in_code_span = false;
		if (ctx->inl != INL_H)
			rc = md_sink_markup(ctx, "`", 1);
		break;
	case MD_SPAN_DEL:
		if (ctx->inl != INL_H)
			rc = md_sink_markup(ctx, "~~", 2);
		break;
	default:
		break;
	}
	if (rc == -1)
		ctx->err = true;
	return rc == -1 ? -1 : 0;
}

/*
 * Most text is prose in a paragraph or item whose block already has
 * words, outside links, images and HTML, with no space owed: everything
 * md_sink would check passes and the text goes straight to the line.
 * Code blocks are asked about first.
 */
static bool
md_is_plain(const struct md2gmi *ctx, MD_TEXTTYPE type, MD_SIZE size)
{
	return (type == MD_TEXT_NORMAL || type == MD_TEXT_CODE) && size > 0 &&
	    ctx->inl != INL_NONE && !ctx->soft && ctx->other_text &&
	    ctx->link_nest == 0 && ctx->img_depth == 0 &&
	    ctx->html_skip == 0 && !ctx->in_html_block;
}

/*
 * Text that md_is_plain turned down only for an owed space or for being
 * the first words of its block: still outside links, images and HTML.
 */
static inline bool
md_is_prose(const struct md2gmi *ctx, MD_TEXTTYPE type, MD_SIZE size)
{
	return (type == MD_TEXT_NORMAL || type == MD_TEXT_CODE) && size > 0 &&
	    ctx->inl != INL_NONE && ctx->link_nest == 0 &&
	    ctx->img_depth == 0 && ctx->html_skip == 0 &&
	    !ctx->in_html_block;
}

static int
md_text_cb(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
	struct md2gmi	*ctx = ud;
	struct span	 s = { text, size };
	int		 rc;

	if (md_cb_check(ctx) == -1)
		return -1;
	if (ctx->in_code_block)
		rc = type == MD_TEXT_NULLCHAR ? u8_put(ctx->out, 0xfffd) :
		    md_code_text(ctx, s);
	else if (md_is_plain(ctx, type, size))
		rc = md_copy_md(ctx, &ctx->line, s, BC_CTL | BC_MARK) ? 0 :
		    md_put_clean(&ctx->line, s, 0);
	else if (md_is_prose(ctx, type, size)) {
		/* md_sink's work that this text can need. */
		if (!ctx->other_text)
			md_note_text(ctx, s);
		rc = ctx->soft ? md_pay_space(ctx, s) : 0;
		if (rc == 0 && !md_copy_md(ctx, &ctx->line, s, BC_CTL |
		    BC_MARK))
			rc = md_put_clean(&ctx->line, s, 0);
	}
	else if (ctx->in_html_block)
		rc = type == MD_TEXT_NULLCHAR ? u8_put(&ctx->code, 0xfffd) :
		    buf_append_span(&ctx->code, s);
	else {
		switch (type) {
		case MD_TEXT_NULLCHAR:
			rc = md_sink_cstr(ctx, "\xef\xbf\xbd", 0);
			break;
		case MD_TEXT_BR:
			rc = md_break(ctx);
			break;
		case MD_TEXT_SOFTBR:
			ctx->soft = true;
			rc = 0;
			break;
		case MD_TEXT_ENTITY:
			buf_reset(&ctx->tmp2);
			rc = ent_decode(s, &ctx->tmp2);
			if (rc == 0)
				rc = md_sink(ctx, buf_span(&ctx->tmp2), 0);
			break;
		case MD_TEXT_HTML:
			rc = md_html(ctx, s, false);
			break;
		default:
			rc = md_sink(ctx, s, 0);
			break;
		}
	}
	if (rc == -1)
		ctx->err = true;
	return rc == -1 ? -1 : 0;
}

/*
 * The working buffers start on the stack, in room enough for a typical
 * post (see md_lend), and move to the heap only when they outgrow it.
 */
#define MD_ROOM_BIG	1024	/* the line, the links, a table's cells */
#define MD_ROOM_SMALL	256	/* each of the rest */
#define MD_ROOM		(3 * MD_ROOM_BIG + 13 * MD_ROOM_SMALL)

/* Lend the next n bytes of *room to b. */
static void
md_lend(struct buf *b, char **room, size_t n, size_t max)
{
	buf_init_lent(b, *room, n, max);
	*room += n;
}

static void
md_ctx_free(struct md2gmi *ctx)
{
	free(ctx->links);
	buf_free(&ctx->lnk);
	buf_free(&ctx->base_esc);
	buf_free(&ctx->rel_ref);
	buf_free(&ctx->rel_abs);
	buf_free(&ctx->rel_fs);
	free(ctx->tbl.cells);
	buf_free(&ctx->tbl.text);
	buf_free(&ctx->tbl.ex);
	buf_free(&ctx->line);
	buf_free(&ctx->label);
	buf_free(&ctx->alt);
	buf_free(&ctx->href);
	buf_free(&ctx->code);
	buf_free(&ctx->notes);
	buf_free(&ctx->tmp);
	buf_free(&ctx->tmp2);
	buf_free(&ctx->code_src);
}

/* The deferred footnotes under their own heading. */
static int
md_notes(struct md2gmi *ctx)
{
	if (ctx->notes.len == 0)
		return 0;
	if (md_sep(ctx->out) == -1 || buf_puts(ctx->out, "## Notes\n\n") == -1)
		return -1;
	return buf_append(ctx->out, ctx->notes.p, ctx->notes.len);
}

/*
 * Start the output at a typical size rather than grow it from nothing;
 * the gemtext is about as long as the Markdown.  Only a hint: a failure
 * here is met again, and reported, at the append.
 */
static void
md_presize(struct md2gmi *ctx, size_t n)
{
	struct buf	*out = ctx->out;
	size_t		 room = out->max - out->len;

	(void)buf_reserve(out, n < room ? n : room);
}

int
md2gmi_render(struct span md, const struct md2gmi_opts *opts,
    struct buf *out, struct md2gmi_info *info, struct fm_diags *diags)
{
	struct md2gmi	 ctx;
	MD_PARSER	 parser;
	char		 mem[MD_ROOM], *room = mem;
	size_t		 max = opts->max_out, blen;
	int		 rc;

	memset(info, 0, sizeof(*info));
	if (md.n > UINT32_MAX)
		return -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.opts = opts;
	ctx.info = info;
	ctx.diags = diags;
	ctx.out = out;
	ctx.out_start = out->len;
	ctx.out_max = out->max;
	ctx.collide_skip = -1;
	md_lend(&ctx.line, &room, MD_ROOM_BIG, max);
	md_lend(&ctx.label, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.alt, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.href, &room, MD_ROOM_SMALL, MD2GMI_MAX_HREF + 1);
	/* Bounded by MD2GMI_MAX_LINKS links of at most max_out bytes each. */
	md_lend(&ctx.lnk, &room, MD_ROOM_BIG, SIZE_MAX / 2);
	ctx.base = opts->base != NULL && opts->base[0] == '/' ? opts->base :
	    "/";
	/* Escaping may triple every byte of the base and the reference. */
	blen = strlen(ctx.base);
	md_lend(&ctx.base_esc, &room, MD_ROOM_SMALL, 3 * blen + 2);
	md_lend(&ctx.rel_ref, &room, MD_ROOM_SMALL, 3 * MD2GMI_MAX_HREF + 2);
	md_lend(&ctx.rel_abs, &room, MD_ROOM_SMALL, 3 * (MD2GMI_MAX_HREF +
	    blen) + 8);
	md_lend(&ctx.rel_fs, &room, MD_ROOM_SMALL, ctx.rel_abs.max + 8);
	md_lend(&ctx.code, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.notes, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.tmp, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.tmp2, &room, MD_ROOM_SMALL, max);
	md_lend(&ctx.code_src, &room, MD_ROOM_SMALL, MD2GMI_MAX_HREF + 1);
	md_lend(&ctx.tbl.text, &room, MD_ROOM_BIG, max);
	md_lend(&ctx.tbl.ex, &room, MD_ROOM_SMALL, max);
	ctx.code_alt[0] = '\0';
	md_presize(&ctx, md.n);
	/*
	 * Footnote references need a '^', written as such or as a numeric
	 * entity; most posts have neither and skip looking for them.
	 */
	ctx.may_caret = md_may_caret(md);
	ctx.md_lo = (uintptr_t)md.p;
	ctx.md_hi16 = md.n >= 16 ? (uintptr_t)(md.p + md.n - 16) : 0;

	memset(&parser, 0, sizeof(parser));
	parser.abi_version = 0;
	parser.flags = MD_DIALECT_GITHUB | MD_FLAG_COLLAPSEWHITESPACE;
	parser.enter_block = md_enter_block_cb;
	parser.leave_block = md_leave_block_cb;
	parser.enter_span = md_enter_span_cb;
	parser.leave_span = md_leave_span_cb;
	parser.text = md_text_cb;

	md_budget_start(&ctx);
	rc = md_parse(md.p, (MD_SIZE)md.n, &parser, &ctx);
	if (rc == 0 && !ctx.err)
		rc = md_notes(&ctx);
	else
		rc = -1;
	out->max = ctx.out_max;
	md_ctx_free(&ctx);
	if (rc == -1) {
		md2gmi_info_free(info);
		info->timed_out = ctx.timed_out;
	}
	return rc;
}

void
md2gmi_info_free(struct md2gmi_info *info)
{
	free(info->first_h1);
	memset(info, 0, sizeof(*info));
}
