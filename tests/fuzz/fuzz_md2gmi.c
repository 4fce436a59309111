/*
 * Fuzz target: the whole post pipeline (UTF-8 repair, front matter,
 * md4c callbacks, gemtext) on arbitrary bytes.  The output must stay
 * under its ceiling and never contain a NUL or a raw control byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "post.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
fuzz_exists(void *arg, const char *path)
{
	(void)arg;
	return strlen(path) % 2 == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct post_input	in;
	struct post		p;
	size_t			i;

	memset(&in, 0, sizeof(in));
	memset(&p, 0, sizeof(p));
	in.src = span_make((const char *)data, size);
	in.url = "/blog/fuzz.gmi";
	in.name = "fuzz.md";
	in.exists = fuzz_exists;
	if (post_render(&in, &p) == 0) {
		if (p.gmi.len > size * POST_OUT_FACTOR + 2 * POST_OUT_SLACK)
			__builtin_trap();
		for (i = 0; i < p.gmi.len; i++) {
			unsigned char	c = (unsigned char)p.gmi.p[i];

			if (c < 0x20 && c != '\n' && c != '\t')
				__builtin_trap();
		}
	}
	post_free(&p);
	return 0;
}
