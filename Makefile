# capsuled: a Gemini and Gopher capsule server.
#
#   make run     install missing Debian packages, build, serve capsule/
#   make check   install missing Debian packages, build, run every test,
#                then build again with ASan+UBSan (clang) and run them again
#   make bench   install what the benchmarks need, run them, print figures
#   make fuzz    run every libFuzzer target for FUZZ_TIME seconds (60)
#   make soak    SOAK_TIME seconds (600) of mixed load on the real server:
#                fails on a crash, an error, or RSS or descriptors growing
#
# Objects go to $(BUILD) (build/, or build-san/ for the sanitizer build).

PKGS		:= openssl yaml-0.1 md4c libevent
CC		?= cc
BUILD		?= build
SAN		?= 0

PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# md4c's header carries no version, so capsuled -V takes it from pkg-config.
MD4C_VERSION	:= $(shell pkg-config --modversion md4c 2>/dev/null)

CFLAGS		?= -O2 -g
CFLAGS		+= -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude \
		   $(PKG_CFLAGS) -DMD4C_VERSION='"$(MD4C_VERSION)"' -MMD -MP
LDLIBS		+= $(PKG_LIBS)

ifeq ($(SAN),1)
BUILD		:= build-san
CC		:= clang
CFLAGS		+= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
LDFLAGS		+= -fsanitize=address,undefined
endif

SRC		:= $(wildcard src/*.c)
# LIBSRC can be narrowed on the command line to build one module alone.
LIBSRC		:= $(filter-out src/main.c,$(SRC))
LIBOBJ		:= $(LIBSRC:src/%.c=$(BUILD)/obj/%.o)
UNITSRC		:= $(wildcard tests/unit/test_*.c)
UNITBIN		:= $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZSRC		:= $(wildcard tests/fuzz/fuzz_*.c)
REPLAYBIN	:= $(FUZZSRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)
CLIENTSRC	:= $(wildcard tests/client/*.c)
CLIENTBIN	:= $(CLIENTSRC:tests/client/%.c=$(BUILD)/tests/%)

CONFIG		?= capsuled.yaml

.PHONY: all run check test deps deps-check deps-bench bench bench-md bench-servers bench-instructions fuzz soak clean
.SUFFIXES:

all: $(BUILD)/capsuled

deps:
	@sh scripts/deps.sh

deps-check:
	@sh scripts/deps.sh check

deps-bench:
	@sh scripts/deps.sh bench

run: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/capsuled -f -c $(CONFIG)

check: deps-check
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory SAN=1 test

# The test programs and the server, then the runner over all of them.
test: $(BUILD)/capsuled $(UNITBIN) $(REPLAYBIN) $(CLIENTBIN)
	@sh tests/run.sh $(BUILD)

# Coverage-guided fuzzing, FUZZ_TIME seconds per target (make check only
# replays the committed corpora).
fuzz: deps-check
	@sh scripts/fuzz.sh

# Long mixed load on loopback; never inside make check.
soak: $(BUILD)/capsuled $(BUILD)/tests/loadclient
	BUILD=$(BUILD) sh scripts/soak.sh

# Benchmarks print figures; they never run inside make check.
bench: deps-bench
	@$(MAKE) --no-print-directory bench-md
	@$(MAKE) --no-print-directory bench-servers

# capsuled next to Molly Brown and Gophernicus on loopback, inside a private
# network namespace.  BENCH_FLAGS=--smoke: every setting once, in a minute.
bench-servers: $(BUILD)/capsuled $(BUILD)/tests/loadclient \
    $(BUILD)/bench/tls_floor
	CAPSULED=$(BUILD)/capsuled LOADCLIENT=$(BUILD)/tests/loadclient \
	    TLS_FLOOR=$(BUILD)/bench/tls_floor \
	    bash bench/run.sh $(BENCH_FLAGS)

# Instructions per request under callgrind, capsuled next to the floor:
# the figure a shared VM's noise does not move.  Not part of make bench.
bench-instructions: deps-bench
	@$(MAKE) --no-print-directory $(BUILD)/capsuled \
	    $(BUILD)/tests/loadclient $(BUILD)/bench/tls_floor
	CAPSULED=$(BUILD)/capsuled LOADCLIENT=$(BUILD)/tests/loadclient \
	    TLS_FLOOR=$(BUILD)/bench/tls_floor \
	    bash bench/instructions.sh $(BENCH_FLAGS)

bench-md: $(BUILD)/bench/md2gmi_bench
	./$(BUILD)/bench/md2gmi_bench $(BENCH_MD_FLAGS) bench/md-corpus

# md2gmi next to md4c's own HTML renderer (needs libmd4c-html0-dev).
$(BUILD)/bench/md2gmi_bench: bench/md2gmi_bench.c $(BUILD)/libcapsuled.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) \
	    $(shell pkg-config --libs md4c-html) $(LDLIBS)

# OpenSSL's own cost per request, both ends in memory, with capsuled's
# TLS settings and its getpid() (procid.h), so that the floor pays for
# no system call the server is spared.
$(BUILD)/bench/tls_floor: bench/tls_floor.c $(BUILD)/obj/procid.o \
    $(BUILD)/libcapsuled.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

$(BUILD)/libcapsuled.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/capsuled: $(BUILD)/obj/main.o $(BUILD)/libcapsuled.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libcapsuled.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.a,$^) \
	    $(LDLIBS)

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    $(BUILD)/libcapsuled.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# The clients take the server's getpid() too: the load client's OpenSSL
# would otherwise ask the kernel on every random draw.
$(BUILD)/tests/%: tests/client/%.c $(BUILD)/obj/procid.o \
    $(BUILD)/libcapsuled.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d)

# Installation.  With PREFIX=/usr (a distribution package) the config goes
# to /etc; with any other prefix it stays under the prefix, as the FHS asks
# of /usr/local.  The unit and the man pages get the real paths.
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
INSTALL		?= install
SUBST		 = sed -i -e 's|@SBINDIR@|$(SBINDIR)|g' \
		   -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install uninstall

install: $(BUILD)/capsuled
	$(INSTALL) -D -m 0755 $(BUILD)/capsuled $(DESTDIR)$(SBINDIR)/capsuled
	$(INSTALL) -D -m 0644 man/capsuled.8 $(DESTDIR)$(MANDIR)/man8/capsuled.8
	$(INSTALL) -D -m 0644 man/capsuled.yaml.5 \
	    $(DESTDIR)$(MANDIR)/man5/capsuled.yaml.5
	$(INSTALL) -D -m 0644 capsuled.yaml \
	    $(DESTDIR)$(SYSCONFDIR)/capsuled/capsuled.yaml.example
	$(INSTALL) -D -m 0644 contrib/capsuled.service \
	    $(DESTDIR)$(UNITDIR)/capsuled.service
	$(INSTALL) -D -m 0644 contrib/capsuled.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/capsuled.conf
	$(INSTALL) -D -m 0644 contrib/capsuled.logrotate \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/capsuled
	$(SUBST) $(DESTDIR)$(MANDIR)/man8/capsuled.8 \
	    $(DESTDIR)$(MANDIR)/man5/capsuled.yaml.5 \
	    $(DESTDIR)$(UNITDIR)/capsuled.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/capsuled \
	    $(DESTDIR)$(MANDIR)/man8/capsuled.8 \
	    $(DESTDIR)$(MANDIR)/man5/capsuled.yaml.5 \
	    $(DESTDIR)$(SYSCONFDIR)/capsuled/capsuled.yaml.example \
	    $(DESTDIR)$(UNITDIR)/capsuled.service \
	    $(DESTDIR)$(SYSUSERSDIR)/capsuled.conf \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/capsuled
