#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "serve.h"

void
response_init(struct response *r)
{
	r->status = 0;
	r->reason = NULL;
	buf_init(&r->head, GEMINI_META_MAX + 8);
	buf_init(&r->body, SERVE_BODY_MAX);
	r->fd = -1;
	r->size = 0;
	r->host[0] = '\0';
}

void
response_free(struct response *r)
{
	buf_free(&r->head);
	buf_free(&r->body);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

/* Replace whatever was prepared with a header-only answer. */
static void
serve_status(struct response *r, int status, const char *meta)
{
	buf_reset(&r->head);
	buf_reset(&r->body);
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	r->size = 0;
	r->status = status;
	if (status != GEMINI_SUCCESS && r->reason == NULL)
		r->reason = meta;
	if (gemini_header(&r->head, status, span_cstr(meta)) == -1) {
		/* The head buffer always fits a short constant header. */
		buf_reset(&r->head);
		buf_puts(&r->head, "40 Internal error\r\n");
		r->status = GEMINI_TEMPORARY_FAILURE;
	}
}

static int
serve_success_header(const struct serve_ctx *sc, struct response *r,
    const char *mime)
{
	char	meta[256];
	size_t	n;

	n = strlen(mime);
	if (n == strlen("text/gemini") && memcmp(mime, "text/gemini", n) == 0) {
		if (sc->lang != NULL && sc->lang[0] != '\0')
			snprintf(meta, sizeof(meta),
			    "text/gemini; charset=utf-8; lang=%s", sc->lang);
		else
			snprintf(meta, sizeof(meta),
			    "text/gemini; charset=utf-8");
	} else
		snprintf(meta, sizeof(meta), "%s", mime);
	r->status = GEMINI_SUCCESS;
	return gemini_header(&r->head, GEMINI_SUCCESS, span_cstr(meta));
}

static void
serve_object(const struct serve_ctx *sc, const struct gemini_request *req,
    struct capsule_obj *o, struct response *r)
{
	switch (o->kind) {
	case CAPSULE_NOT_FOUND:
		serve_status(r, GEMINI_NOT_FOUND, "Not found");
		return;
	case CAPSULE_ERROR:
		serve_status(r, GEMINI_TEMPORARY_FAILURE,
		    "Cannot read this resource");
		return;
	case CAPSULE_REDIRECT:
		if (req->has_query && (buf_putc(&o->location, '?') == -1 ||
		    buf_append(&o->location, req->query, req->query_len) == -1))
			break;
		if (buf_cstr(&o->location) == NULL)
			break;
		r->reason = "directory needs a trailing slash";
		serve_status(r, GEMINI_REDIRECT_PERMANENT, o->location.p);
		return;
	case CAPSULE_LISTING:
		if (serve_success_header(sc, r, o->mime) == -1)
			break;
		/* Hand the generated page over instead of copying it. */
		buf_free(&r->body);
		r->body = o->body;
		buf_init(&o->body, CAPSULE_LISTING_MAX);
		return;
	case CAPSULE_FILE:
		if (serve_success_header(sc, r, o->mime) == -1)
			break;
		r->fd = o->fd;
		r->size = o->size;
		o->fd = -1;
		return;
	}
	serve_status(r, GEMINI_TEMPORARY_FAILURE, "Out of memory");
}

void
serve_gemini(const struct serve_ctx *sc, struct span line, const char *sni,
    struct response *r)
{
	struct gemini_request	 req;
	struct capsule_obj	 obj;
	const char		*reason = NULL;
	int			 status;

	status = gemini_parse_request(line, sc->policy, &req, &reason);
	if (status != 0) {
		serve_status(r, status, reason);
		return;
	}
	memcpy(r->host, req.host, sizeof(r->host));
	/* A certificate for one name must not be used to fetch another. */
	if (sni != NULL && strcasecmp(sni, req.host) != 0) {
		serve_status(r, GEMINI_PROXY_REFUSED,
		    "Request host does not match the TLS server name");
		return;
	}
	capsule_obj_init(&obj);
	capsule_resolve(sc->capsule, req.path, req.path_len, &obj);
	serve_object(sc, &req, &obj, r);
	capsule_obj_free(&obj);
}
