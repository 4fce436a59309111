#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capsule.h"
#include "lint.h"
#include "post.h"

struct lint {
	struct capsule	capsule;
	unsigned long	posts;
	unsigned long	findings;
};

static bool
lint_exists(void *arg, const char *capsule_path)
{
	struct lint	*l = arg;

	return capsule_exists(&l->capsule, capsule_path);
}

/* The .md file's path as the author knows it: root + URL, .gmi → .md. */
static void
lint_label(const struct lint *l, const char *url, char *out, size_t outsz)
{
	size_t	n = strlen(url);

	snprintf(out, outsz, "%s%.*s.md", l->capsule.root,
	    n >= 4 ? (int)(n - 4) : (int)n, url);
}

static int
lint_post(void *arg, const char *url, int fd, const struct stat *st)
{
	struct lint		*l = arg;
	struct post_input	 in;
	struct post		 p;
	struct buf		 src;
	char			 label[1400];
	const char		*name;
	size_t			 i;

	l->posts++;
	lint_label(l, url, label, sizeof(label));
	buf_init(&src, POST_MAX_SIZE);
	if (capsule_read_file(fd, st, POST_MAX_SIZE, &src) == -1) {
		printf("%s: cannot read: %s\n", label, strerror(errno));
		l->findings++;
		buf_free(&src);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	name = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
	memset(&in, 0, sizeof(in));
	in.src = buf_span(&src);
	in.url = url;
	in.name = name;
	in.exists = lint_exists;
	in.arg = l;
	if (post_render(&in, &p) == -1) {
		printf("%s: cannot render: %s\n", label,
		    p.errstr ? p.errstr : "error");
		l->findings++;
	}
	for (i = 0; i < p.diags.n; i++)
		printf("%s:%lu: %s\n", label, p.diags.v[i].line,
		    p.diags.v[i].msg);
	l->findings += p.diags.n;
	post_free(&p);
	buf_free(&src);
	return 0;
}

int
lint_main(int argc, char *argv[])
{
	struct lint	 l;
	struct buf	 err;
	const char	*root = argc > 1 ? argv[1] : "capsule";
	int		 rc;

	if (argc > 2) {
		fprintf(stderr, "usage: capsuled check [CAPSULE]\n");
		return 2;
	}
	memset(&l, 0, sizeof(l));
	buf_init(&err, 4096);
	if (capsule_open(&l.capsule, root, &err) == -1) {
		fprintf(stderr, "capsuled: %s\n", buf_cstr(&err));
		buf_free(&err);
		return 2;
	}
	buf_free(&err);
	rc = capsule_posts(&l.capsule, "/", true, lint_post, &l, NULL);
	capsule_close(&l.capsule);
	if (rc == -1) {
		fprintf(stderr, "capsuled: %s: cannot read every directory\n",
		    root);
		return 2;
	}
	fprintf(stderr, "%lu posts checked, %lu findings\n", l.posts,
	    l.findings);
	return l.findings > 0 ? 1 : 0;
}
