/*
 * loglisten: a stand-in for syslogd in the tests.  Binds a Unix datagram
 * socket at PATH (as /dev/log is) and prints every message it receives as
 * one line on standard output, until it is killed or SECONDS have passed.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longer messages are cut; syslog(3) sends at most a few kilobytes. */
#define MSG_MAX		8192

/* How long the listener lives when no -t is given, in seconds. */
#define LIFETIME	120

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 msg[MSG_MAX + 1];
	time_t			 end;
	ssize_t			 n;
	long			 secs = LIFETIME;
	int			 fd;

	if (argc == 4 && strcmp(argv[1], "-t") == 0) {
		secs = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || secs <= 0) {
		fprintf(stderr, "usage: loglisten [-t seconds] path\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		errx(1, "%s: path too long", argv[1]);
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	unlink(argv[1]);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "bind %s", argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = time(NULL) + secs;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((n = recv(fd, msg, MSG_MAX, 0)) <= 0)
			continue;
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\0'))
			n--;
		msg[n] = '\0';
		printf("%s\n", msg);
	}
	unlink(argv[1]);
	return 0;
}
