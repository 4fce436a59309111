/*
 * Fuzz target: front-matter splitting, the libyaml event reader and the
 * date parser on arbitrary bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "frontmatter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct post_meta	meta;
	struct fm_diags		diags;
	struct fm_date		d;
	struct span		doc = span_make((const char *)data, size);
	struct span		body;
	unsigned long		line;

	memset(&meta, 0, sizeof(meta));
	memset(&diags, 0, sizeof(diags));
	if (fm_parse(doc, &meta, &body, &line, &diags) == 0 &&
	    (body.p < doc.p || body.p + body.n > doc.p + doc.n))
		__builtin_trap();
	fm_meta_free(&meta);
	fm_diags_free(&diags);
	if (size < 128)
		(void)fm_parse_date(doc, &d);
	return 0;
}
