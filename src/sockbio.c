#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "sockbio.h"

struct sockbio {
	int			 fd;
	const char		*pre;		/* borrowed, served first */
	size_t			 prelen;
	char			*out;		/* queued: out[off, off + len) */
	size_t			 off;
	size_t			 len;
	size_t			 cap;
	bool			 readable;
	bool			 writable;
	bool			 eof;
	int			 err;		/* sticky errno, or 0 */
	struct sockbio_stats	 st;
};

static BIO_METHOD	*sockbio_method;

static struct sockbio *
sockbio_of(BIO *b)
{
	return BIO_get_data(b);
}

/* Room for n more bytes at the end of the queue; len + n <= the cap. */
static int
sockbio_reserve(struct sockbio *s, size_t n)
{
	size_t	 want = s->len + n, cap;
	char	*p;

	if (s->off + want <= s->cap)
		return 0;
	if (want <= s->cap) {
		memmove(s->out, s->out + s->off, s->len);
		s->off = 0;
		return 0;
	}
	cap = s->cap > SOCKBIO_OUT_MIN ? s->cap : SOCKBIO_OUT_MIN;
	while (cap < want)
		cap *= 2;
	if (cap > SOCKBIO_OUT_MAX)
		cap = SOCKBIO_OUT_MAX;
	if (s->off > 0) {
		memmove(s->out, s->out + s->off, s->len);
		s->off = 0;
	}
	if ((p = mem_realloc(s->out, cap)) == NULL)
		return -1;
	s->out = p;
	s->cap = cap;
	return 0;
}

/* An empty queue gives its memory back: an idle connection holds none. */
static void
sockbio_release(struct sockbio *s)
{
	free(s->out);
	s->out = NULL;
	s->off = s->len = s->cap = 0;
}

/*
 * One send() of the queue.  A short send means the socket buffer is
 * full, so the socket counts as not writable until the loop says so.
 * MSG_NOSIGNAL: a peer gone is an error to report, not a signal.
 */
static int
sockbio_send(struct sockbio *s, int flags)
{
	ssize_t	n;

	do {
		s->st.writes++;
		n = send(s->fd, s->out + s->off, s->len, MSG_NOSIGNAL | flags);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			s->err = errno;
			return -1;
		}
		s->writable = false;
		return 0;
	}
	s->off += (size_t)n;
	s->len -= (size_t)n;
	if (s->len == 0)
		s->off = 0;
	else
		s->writable = false;
	return 0;
}

/*
 * The int interface of the socket BIO, not the _ex one: -1 for "retry" or
 * an error, 0 for EOF, as OpenSSL's record layer expects of a socket.
 */
static int
sockbio_write(BIO *b, const char *p, int len)
{
	struct sockbio	*s = sockbio_of(b);
	size_t		 n = len > 0 ? (size_t)len : 0, room;

	BIO_clear_retry_flags(b);
	if (s->err != 0)
		return -1;
	/* A full queue goes out before it takes more: large files stream. */
	if (s->len + n > SOCKBIO_OUT_MAX && s->len > 0 && s->writable &&
	    sockbio_send(s, 0) == -1)
		return -1;
	room = SOCKBIO_OUT_MAX - s->len;
	if (room == 0) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (n > room)
		n = room;
	if (sockbio_reserve(s, n) == -1) {
		s->err = ENOMEM;
		return -1;
	}
	memcpy(s->out + s->off + s->len, p, n);
	s->len += n;
	return (int)n;
}

/* The borrowed prefix, then the socket unless it is known drained. */
static int
sockbio_read(BIO *b, char *p, int len)
{
	struct sockbio	*s = sockbio_of(b);
	size_t		 n = len > 0 ? (size_t)len : 0;
	ssize_t		 r;

	BIO_clear_retry_flags(b);
	if (s->err != 0)
		return -1;
	if (n == 0)
		return 0;
	if (s->prelen > 0) {
		if (n > s->prelen)
			n = s->prelen;
		memcpy(p, s->pre, n);
		s->pre += n;
		s->prelen -= n;
		return (int)n;
	}
	if (!s->readable) {
		BIO_set_retry_read(b);
		return -1;
	}
	do {
		s->st.reads++;
		r = read(s->fd, p, n);
	} while (r == -1 && errno == EINTR);
	if (r >= 0) {
		/* Short: the socket had no more; the loop will say when. */
		if ((size_t)r < n)
			s->readable = false;
		s->eof = r == 0;
		return (int)r;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->readable = false;
		BIO_set_retry_read(b);
	} else
		s->err = errno;
	return -1;
}

/* Flushes are deferred to sockbio_flush, where the connection's turn ends. */
static long
sockbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct sockbio	*s = sockbio_of(b);

	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		/* OpenSSL tells an unexpected EOF from an error by this. */
		return s->eof;
	case BIO_CTRL_PENDING:
		return (long)s->prelen;
	case BIO_CTRL_WPENDING:
		return (long)s->len;
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = s->fd;
		return s->fd;
	default:
		return 0;
	}
}

static int
sockbio_create(BIO *b)
{
	struct sockbio	*s;

	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		return 0;
	s->fd = -1;
	s->readable = s->writable = true;
	BIO_set_data(b, s);
	BIO_set_init(b, 1);
	return 1;
}

static int
sockbio_destroy(BIO *b)
{
	struct sockbio	*s = sockbio_of(b);

	if (s != NULL) {
		free(s->out);
		free(s);
	}
	BIO_set_data(b, NULL);
	return 1;
}

/* One method table per process, made on first use. */
static const BIO_METHOD *
sockbio_meth(void)
{
	BIO_METHOD	*m;

	if (sockbio_method != NULL)
		return sockbio_method;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "capsuled socket");
	if (m == NULL)
		return NULL;
	if (BIO_meth_set_write(m, sockbio_write) != 1 ||
	    BIO_meth_set_read(m, sockbio_read) != 1 ||
	    BIO_meth_set_ctrl(m, sockbio_ctrl) != 1 ||
	    BIO_meth_set_create(m, sockbio_create) != 1 ||
	    BIO_meth_set_destroy(m, sockbio_destroy) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	sockbio_method = m;
	return m;
}

BIO *
sockbio_new(int fd)
{
	const BIO_METHOD	*m;
	BIO			*b;

	if ((m = sockbio_meth()) == NULL || (b = BIO_new(m)) == NULL)
		return NULL;
	sockbio_of(b)->fd = fd;
	return b;
}

void
sockbio_set_prefix(BIO *b, const char *p, size_t n)
{
	struct sockbio	*s = sockbio_of(b);

	s->pre = p;
	s->prelen = n;
}

size_t
sockbio_prefix_left(BIO *b)
{
	return sockbio_of(b)->prelen;
}

void
sockbio_set_readable(BIO *b, bool readable)
{
	sockbio_of(b)->readable = readable;
}

bool
sockbio_is_readable(BIO *b)
{
	return sockbio_of(b)->readable;
}

void
sockbio_set_writable(BIO *b)
{
	sockbio_of(b)->writable = true;
}

static int
sockbio_flush_with(BIO *b, int flags)
{
	struct sockbio	*s = sockbio_of(b);

	if (s->err != 0)
		return -1;
	if (s->len > 0) {
		if (!s->writable)
			return 0;
		if (sockbio_send(s, flags) == -1)
			return -1;
		if (s->len > 0)
			return 0;
	}
	sockbio_release(s);
	return 1;
}

int
sockbio_flush(BIO *b)
{
	return sockbio_flush_with(b, 0);
}

int
sockbio_flush_last(BIO *b)
{
	return sockbio_flush_with(b, MSG_MORE);
}

void
sockbio_trim(BIO *b)
{
	struct sockbio	*s = sockbio_of(b);
	char		*p;

	if (s->len == 0) {
		sockbio_release(s);
		return;
	}
	if (s->off > 0) {
		memmove(s->out, s->out + s->off, s->len);
		s->off = 0;
	}
	/* Shrinking can fail; the larger block then serves as it is. */
	if (s->cap > s->len && (p = mem_realloc(s->out, s->len)) != NULL) {
		s->out = p;
		s->cap = s->len;
	}
}

size_t
sockbio_queued(BIO *b)
{
	return sockbio_of(b)->len;
}

int
sockbio_error(BIO *b)
{
	return sockbio_of(b)->err;
}

struct sockbio_stats
sockbio_stats(BIO *b)
{
	return sockbio_of(b)->st;
}
