/*
 * fuzz_gopher: the Gopher request parser, the menu line writer, the
 * gophermap filler and gemtext to Gopher text and menus, all on the same
 * bytes.  Every promise the headers make about their output is checked;
 * a broken one aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gmi2txt.h"
#include "gopher.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
has_seg(const char *p, size_t n, const char *seg)
{
	size_t	k = strlen(seg), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, seg, k) == 0 &&
		    (i + k == n || p[i + k] == '/'))
			return true;
	return false;
}

static void
check_request(const uint8_t *data, size_t size)
{
	struct gopher_request	 req;
	const char		*reason = NULL;
	size_t			 i;

	if (gopher_parse_request(span_make((const char *)data, size), &req,
	    &reason) == -1) {
		if (reason == NULL)
			abort();
		return;
	}
	if (memchr(data, '\n', size) == NULL)
		abort();
	switch (req.kind) {
	case GOPHER_KIND_PATH:
		if (req.path_len == 0 || req.path[0] != '/' ||
		    req.path_len > GOPHER_SELECTOR_MAX + 1 ||
		    strlen(req.path) != req.path_len)
			abort();
		if (has_seg(req.path, req.path_len, "/..") ||
		    has_seg(req.path, req.path_len, "/.") ||
		    strstr(req.path, "//") != NULL)
			abort();
		for (i = 0; i < req.path_len; i++)
			if ((unsigned char)req.path[i] < 0x20 ||
			    req.path[i] == 0x7f)
				abort();
		break;
	case GOPHER_KIND_URL:
		if (req.url_len == 0 || strlen(req.url) != req.url_len)
			abort();
		break;
	case GOPHER_KIND_HTTP:
		break;
	default:
		abort();
	}
	if (req.search_len > GOPHER_SELECTOR_MAX ||
	    memchr(req.search, '\0', req.search_len) != NULL ||
	    (!req.has_search && req.search_len != 0))
		abort();
}

/*
 * CRLF only, the terminator last and alone, four fields on menu lines,
 * no TAB and no lone "." in text.
 */
static void
check_output(struct span s, bool menu)
{
	size_t	i, start = 0, tabs = 0;

	if (s.n < 3 || memcmp(s.p + s.n - 3, ".\r\n", 3) != 0 ||
	    (s.n > 3 && s.p[s.n - 4] != '\n'))
		abort();
	for (i = 0; i < s.n; i++) {
		if (s.p[i] == '\r' && (i + 1 == s.n || s.p[i + 1] != '\n'))
			abort();
		if (s.p[i] == '\n' && (i == 0 || s.p[i - 1] != '\r'))
			abort();
		if (s.p[i] == '\t') {
			if (!menu)
				abort();
			tabs++;
		}
		if (s.p[i] != '\n' || i + 1 == s.n)
			continue;
		if (i - 1 - start == 1 && s.p[start] == '.')
			abort();
		if (menu && (tabs != 3 || s.p[start] == '\t'))
			abort();
		start = i + 1;
		tabs = 0;
	}
}

/* Info lines of a converted menu are wrapped or cut to the menu width. */
static void
check_menu_widths(struct span s)
{
	const char	*line = s.p, *end = s.p + s.n, *tab;

	while (line < end && *line != '.') {
		tab = memchr(line, '\t', (size_t)(end - line));
		if (*line == 'i' && gopher_display_width(span_make(line + 1,
		    (size_t)(tab - line - 1))) > GOPHER_DISPLAY_MAX)
			abort();
		line = memchr(line, '\n', (size_t)(end - line)) + 1;
	}
}

static bool
is_dir(void *arg, struct span path)
{
	(void)arg;
	return path.n > 0 && path.n % 3 == 0;
}

static void
check_gmi(const uint8_t *data, size_t size)
{
	struct gmi2txt_opts	o = {
		.host = "example.org", .port = 7070,
		.base = { "/blog/post.gmi", 14 }, .is_dir = is_dir
	};
	struct span		in = span_make((const char *)data, size);
	struct buf		b, small;

	buf_init(&b, 64 * size + 4096);
	if (gmi2txt_text(&b, in, &o) == -1)
		abort();
	check_output(buf_span(&b), false);
	buf_reset(&b);
	o.base = span_cstr("/");
	o.port = 70;
	if (gmi2txt_menu(&b, in, &o) == -1)
		abort();
	check_output(buf_span(&b), true);
	check_menu_widths(buf_span(&b));
	buf_free(&b);
	/* A full buffer fails cleanly and leaves what was there. */
	buf_init(&small, 64);
	if (buf_puts(&small, "x") == -1)
		abort();
	if (gmi2txt_text(&small, in, &o) == -1 && small.len != 1)
		abort();
	small.len = 1;
	if (gmi2txt_menu(&small, in, &o) == -1 && small.len != 1)
		abort();
	buf_free(&small);
}

static size_t
count_markup(struct span s)
{
	size_t	i, n = 0;

	for (i = 0; i < s.n; i++)
		n += s.p[i] == '<' || s.p[i] == '>' || s.p[i] == '"' ||
		    s.p[i] == '\'' || (unsigned char)s.p[i] < 0x20;
	return n;
}

/* The URL adds no markup: the page has as much as the empty URL's. */
static void
check_escaped(struct span page)
{
	struct buf	empty;

	buf_init(&empty, 4096);
	if (gopher_url_redirect_page(&empty, span_make("", 0)) == -1)
		abort();
	if (count_markup(page) != count_markup(buf_span(&empty)))
		abort();
	buf_free(&empty);
}

static void
check_writers(const uint8_t *data, size_t size)
{
	struct span	in = span_make((const char *)data, size);
	struct span	disp = span_make(in.p, size / 2);
	struct span	sel = span_make(in.p + size / 2, size - size / 2);
	struct buf	b;
	const char	*tab;

	buf_init(&b, 64 * size + 4096);
	if (gopher_gophermap(&b, in, span_cstr("/dir/"), "example.org",
	    7070) == -1)
		abort();
	check_output(buf_span(&b), true);
	buf_reset(&b);
	if (gopher_menu_item(&b, size > 0 ? (char)data[0] : '0', disp, sel,
	    "example.org", 70) == -1 || gopher_terminator(&b) == -1)
		abort();
	check_output(buf_span(&b), true);
	tab = memchr(b.p, '\t', b.len);
	if (gopher_display_width(span_make(b.p + 1, (size_t)(tab - b.p - 1)))
	    > GOPHER_DISPLAY_MAX)
		abort();
	buf_reset(&b);
	if (gopher_error(&b, in) == -1)
		abort();
	check_output(buf_span(&b), true);
	buf_reset(&b);
	if (gopher_url_redirect_page(&b, in) == -1)
		abort();
	check_escaped(buf_span(&b));
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_gmi(data, size);
	check_writers(data, size);
	return 0;
}
