/*
 * capsuled: serve a folder of Markdown and gemtext over Gemini and Gopher.
 * main only reads the command line and hands over: the server module runs
 * the daemon, the post module the authoring subcommands.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "config.h"
#include "lint.h"
#include "log.h"
#include "post.h"
#include "server.h"

#define CAPSULED_VERSION	"0.1.0"

/* What the command line says; applied over the config file on each load. */
struct cli {
	const char	*config_file;
	const char	*hostname;	/* -H */
	const char	*gemini;	/* -g */
	const char	*gopher;	/* -G */
	const char	*certdir;	/* -d */
	const char	*workers;	/* -w */
	const char	*root;		/* DIR */
	bool		 foreground;	/* -f */
	bool		 check_only;	/* -n */
	bool		 debug;		/* -v */
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: capsuled [-fnv] [-c FILE] [-H HOSTNAME] [-g ADDR:PORT] [-G ADDR:PORT]\n"
"                [-d CERTDIR] [-w WORKERS] [DIR]\n"
"       capsuled render [--gopher] FILE.md\n"
"       capsuled check [CAPSULE]\n"
"       capsuled -h | -V\n"
"\n"
"  -c FILE        read the configuration from FILE (see capsuled.yaml)\n"
"  -f             stay in the foreground and log to standard error\n"
"  -n             check the configuration, print the result and exit\n"
"  -v             log debug messages too\n"
"  -H HOSTNAME    the name this capsule is served as (default localhost)\n"
"  -g ADDR:PORT   Gemini listener (default 127.0.0.1:1965 without -c)\n"
"  -G ADDR:PORT   Gopher listener (none by default without -c)\n"
"  -d CERTDIR     where a missing certificate and key are generated\n"
"                 (default certs)\n"
"  -w WORKERS     worker processes (default: one per online CPU)\n"
"  DIR            serve DIR as the capsule, with or without -c\n"
"  -h             print this help\n"
"  -V             print the version and the library versions\n"
"\n"
"Command-line flags override the configuration file.  ADDR may be an IPv4\n"
"address, [IPv6] in brackets, a host name, or * for every address.\n");
}

static void
print_version(void)
{
	printf("capsuled %s\n", CAPSULED_VERSION);
	printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	printf("libevent %s\n", event_get_version());
	printf("libyaml %s\n", yaml_get_version_string());
	printf("md4c %s\n", MD4C_VERSION);
}

static int
cli_apply(const struct cli *cli, struct config *cfg, struct buf *err)
{
	if (cli->config_file == NULL) {
		/* Quick mode: a local preview unless told otherwise. */
		if (config_set_listen(cfg, false, "127.0.0.1:1965", err) == -1)
			return -1;
		if (cli->foreground) {
			cfg->error_log.dest = CONFIG_LOG_STDERR;
			cfg->access_log.dest = CONFIG_LOG_STDERR;
		}
	}
	if (cli->debug)
		cfg->debug = true;
	if (cli->hostname && config_set_hostname(cfg, cli->hostname, err) == -1)
		return -1;
	if (cli->gemini && config_set_listen(cfg, false, cli->gemini, err) == -1)
		return -1;
	if (cli->gopher && config_set_listen(cfg, true, cli->gopher, err) == -1)
		return -1;
	if (cli->certdir && config_set_certdir(cfg, cli->certdir, err) == -1)
		return -1;
	if (cli->workers && config_set_workers(cfg, cli->workers, err) == -1)
		return -1;
	if (cli->root && config_set_root(cfg, cli->root, err) == -1)
		return -1;
	return 0;
}

static int
cli_load(struct config *cfg, struct buf *err, void *arg)
{
	const struct cli	*cli = arg;

	if (cli->config_file != NULL &&
	    config_load(cfg, cli->config_file, err) == -1)
		return -1;
	if (cli_apply(cli, cfg, err) == -1 || config_finish(cfg, err) == -1)
		return -1;
	return config_check_files(cfg, err);
}

static int
cli_parse(int argc, char *argv[], struct cli *cli)
{
	int	ch;

	memset(cli, 0, sizeof(*cli));
	while ((ch = getopt(argc, argv, "c:d:fG:g:H:hnVvw:")) != -1) {
		switch (ch) {
		case 'c': cli->config_file = optarg; break;
		case 'd': cli->certdir = optarg; break;
		case 'f': cli->foreground = true; break;
		case 'G': cli->gopher = optarg; break;
		case 'g': cli->gemini = optarg; break;
		case 'H': cli->hostname = optarg; break;
		case 'n': cli->check_only = true; break;
		case 'v': cli->debug = true; break;
		case 'w': cli->workers = optarg; break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			print_version();
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "capsuled: one capsule directory at most\n");
		usage(stderr);
		return -1;
	}
	if (argc - optind == 1)
		cli->root = argv[optind];
	if (cli->config_file == NULL && cli->root == NULL) {
		fprintf(stderr, "capsuled: nothing to serve: give a capsule "
		    "directory, or a configuration with -c FILE\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* -n: load and finish the config, report, exit. */
static int
check_config(struct cli *cli)
{
	struct config	cfg;
	struct buf	err;
	int		rc;

	config_init(&cfg);
	buf_init(&err, 64 * 1024);
	rc = cli_load(&cfg, &err, cli);
	if (rc == -1)
		fprintf(stderr, "%s\n", buf_cstr(&err) ? err.p : "error");
	else
		printf("%s: configuration OK\n",
		    cli->config_file ? cli->config_file : "command line");
	buf_free(&err);
	config_free(&cfg);
	return rc == -1 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	struct cli		cli;
	struct server_opts	opts;

	log_init("capsuled", false);
	if (argc > 1 && strcmp(argv[1], "render") == 0)
		return post_cli_render(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return lint_main(argc - 1, argv + 1);
	if (cli_parse(argc, argv, &cli) == -1)
		return 1;
	if (cli.check_only)
		return check_config(&cli);
	opts.foreground = cli.foreground;
	opts.load = cli_load;
	opts.load_arg = &cli;
	return server_run(&opts);
}
