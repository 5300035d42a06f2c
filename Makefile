# lnk-chat. `make run` and `make test` do all the set-up on a fresh Debian
# machine (scripts/setup is idempotent and fast when everything is there).

APP	:= $(notdir $(CURDIR))
SO	:= $(APP).so

.PHONY: all setup build run test unit e2e conformance fixture fuzz bench clean conf chaos \
	bench-fanout bench-memory bench-thumbnail bench-messages

all: build

setup:
	@scripts/setup

# kodev names the app after the folder: give it conf/<folder>.conf.
conf:
	@if [ "$(APP)" != "lnkchat" ]; then \
		sed 's#^load.*#load\t\t./$(SO)#' conf/lnkchat.conf > conf/$(APP).conf.tmp && \
		mv conf/$(APP).conf.tmp conf/$(APP).conf; \
	fi

# kodev rebuilds a .c only when it is newer than its object and knows
# nothing of headers: after a header (or build.conf) change, start clean.
build: conf
	@if [ -f $(SO) ] && [ -n "$$(find src conf/build.conf -newer $(SO) \( -name '*.h' -o -name build.conf \) | head -1)" ]; then \
		kodev clean >/dev/null; \
	fi
	@kodev build
	@if [ "$(APP)" != "lnkchat" ]; then ln -sf $(SO) lnkchat.so; fi

# LNK_ENV=development is the one setting under which JWT_SECRET has a
# built-in default (src/core/config.c); anywhere else it is required.
run: setup build
	@LNK_ENV="$${LNK_ENV:-development}" scripts/run

test: setup build
	@scripts/test

# Fault injection: worker kills, Redis restart, database kill and freeze
# under chat traffic, one table of what was acknowledged, stored,
# delivered and lost (scripts/chaos, tests/chaos/).
chaos: setup build
	@scripts/chaos

unit:
	@$(MAKE) -s -C tests/unit run

# The conformance fixture is its own module, so the server carries none of
# it: kodev's objects of src/ (and of the assets) with
# tests/conformance/fixture.c in place of src/app/rt_chat.c (see
# src/app/rt_app.h), linked into var/conformance/fixture.so when the
# server module or the fixture is newer. scripts/conformance runs it and
# relinks it first when needed (tests start it directly, after make build).
FIXTURE		:= var/conformance/fixture.so
# What kodev adds for Debian's Kore (`kodev build` prints it): kore.h's
# structures depend on KORE_USE_PGSQL and KORE_USE_TASKS.
FIXTURE_CFLAGS	:= -fPIC -Isrc -I/usr/include -DKORE_USE_PGSQL -DKORE_USE_TASKS \
		   -I/usr/include/postgresql -g -O2

conformance: setup build fixture
	@scripts/conformance

fixture:
	@[ -f $(SO) ] || { echo "make fixture: run make build first" >&2; exit 1; }
	@if [ ! -f $(FIXTURE) ] || [ $(SO) -nt $(FIXTURE) ] || \
	    [ tests/conformance/fixture.c -nt $(FIXTURE) ]; then \
		mkdir -p var/conformance && \
		cc $$(sed -n 's/^cflags=//p' conf/build.conf) $(FIXTURE_CFLAGS) \
		    -c -o var/conformance/fixture.o tests/conformance/fixture.c && \
		objs=$$(for f in src/*/*.c; do \
			b=$$(basename $$f); \
			[ $$b = rt_chat.c ] || echo .objs/$$b.o; \
		done; ls .objs/*.o | grep -v '\.c\.o$$') && \
		cc -shared -o $(FIXTURE).tmp var/conformance/fixture.o $$objs \
		    $$(sed -n 's/^ldflags=//p' conf/build.conf) && \
		mv -f $(FIXTURE).tmp $(FIXTURE); \
	fi

fuzz:
	@$(MAKE) -s -C tests/fuzz run

# Fanout deliveries/s and memory per idle socket, lnk-chat next to the npm
# socket.io server (bench/fanout/run, bench/memory/run say the knobs).
bench-fanout: setup build
	@bench/fanout/run

bench-memory: setup build
	@bench/memory/run

# Upload latency of a 4000x3000 JPEG with its thumbnail, next to a file
# of the same size without one (bench/thumbnail/run).
bench-thumbnail: setup build
	@bench/thumbnail/run

# The message path end to end, next to a Node baseline on the same
# database (bench/messages/README.md): sends over sockets and REST, stored
# and delivered; history pages; connects. BENCH_QUICK=1 for a short run.
bench-messages: setup build
	@bench/messages/run

clean:
	@kodev clean || true
	@rm -f lnkchat.so
	@$(MAKE) -s -C tests/unit clean
