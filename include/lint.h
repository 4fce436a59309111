/*
 * lint: "capsuled check [CAPSULE]", what an author runs before
 * publishing.  Every post in the capsule is rendered as a visitor would
 * get it, and every finding (broken front matter, a date that cannot be
 * read, a missing cover image, a relative link to a missing file) is
 * printed as "file:line: message".
 */
#ifndef CAPSULED_LINT_H
#define CAPSULED_LINT_H

/*
 * Run the subcommand (argv[0] is "check"; argv[1], if any, the capsule
 * directory, "capsule" by default).  Returns the exit status: 0 when no
 * post has a finding, 1 when one has, 2 on a usage error or when the
 * capsule cannot be read.
 */
int	lint_main(int argc, char *argv[]);

#endif
