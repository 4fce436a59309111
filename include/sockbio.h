/*
 * sockbio: an OpenSSL BIO over a non-blocking socket that saves system
 * calls.  Writes are queued and leave in one write() when the connection
 * flushes at the end of its turn, so records made in one turn (a session
 * ticket, a response, close_notify) share a system call and a segment.
 * A read that came back short or with EAGAIN marks the socket drained,
 * and further reads answer "retry" without a system call until the
 * connection says the socket is readable again: safe with a
 * level-triggered loop, which keeps reporting unread input.  Bytes the
 * connection already read from the socket (its sniff) can be handed over
 * to be read first.
 */
#ifndef CAPSULED_SOCKBIO_H
#define CAPSULED_SOCKBIO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>

/*
 * Queued output at most, in bytes: four full TLS records.  Past it a
 * write first tries to flush, and says "retry" when the socket takes no
 * more, so a large file streams in bounded memory.
 */
#define SOCKBIO_OUT_MAX		(64 * 1024)

/* The queue's first allocation; it doubles up to SOCKBIO_OUT_MAX. */
#define SOCKBIO_OUT_MIN		4096

/* System calls one BIO made, for tests and debug lines. */
struct sockbio_stats {
	unsigned long	reads;		/* read() calls */
	unsigned long	writes;		/* send() calls */
};

/*
 * A new BIO over fd, which stays the caller's to close.  The socket is
 * taken as readable and writable.  Free it with BIO_free, or hand it to
 * SSL_set_bio, which then owns it.  NULL when out of memory.
 */
BIO	*sockbio_new(int fd);

/*
 * Bytes already read from the socket, served before it is read again.
 * They are borrowed: p must stay unchanged until sockbio_prefix_left
 * says 0.  Replaces any prefix not read yet.
 */
void	 sockbio_set_prefix(BIO *b, const char *p, size_t n);

/* Prefix bytes not read yet. */
size_t	 sockbio_prefix_left(BIO *b);

/*
 * What the loop reported: the socket is readable (true), or the caller
 * knows it to be drained (false).
 */
void	 sockbio_set_readable(BIO *b, bool readable);

/* Whether a read would go to the socket (false: it is drained). */
bool	 sockbio_is_readable(BIO *b);

/* The loop reported the socket writable again. */
void	 sockbio_set_writable(BIO *b);

/*
 * Write what is queued, with at most one send() (none when the socket
 * was seen full and not reported writable since).  Returns 1 when
 * nothing is left queued, 0 when some is (wait until the socket is
 * writable and flush again), -1 when the socket failed; the failure
 * sticks, and every later read or write on the BIO fails too.
 */
int	 sockbio_flush(BIO *b);

/*
 * sockbio_flush for the last bytes before the caller half-closes the
 * socket: they are sent with MSG_MORE, so the kernel holds a short tail
 * and the FIN from shutdown() leaves in the same segment as the response's
 * end, not in one of its own.  The caller must half-close (or close) as
 * soon as this returns 1.
 */
int	 sockbio_flush_last(BIO *b);

/*
 * Output held back on purpose while the connection waits for input: the
 * queue's memory shrinks to what it holds, so a waiting connection keeps
 * a few hundred bytes rather than a whole buffer.
 */
void	 sockbio_trim(BIO *b);

/* Bytes queued, not written yet. */
size_t	 sockbio_queued(BIO *b);

/* The errno of the failure that stuck, or 0. */
int	 sockbio_error(BIO *b);

/* The system calls made so far. */
struct sockbio_stats sockbio_stats(BIO *b);

#endif
