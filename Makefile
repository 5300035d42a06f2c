# lnk-chat. `make run` and `make test` do all the set-up on a fresh Debian
# machine (scripts/setup is idempotent and fast when everything is there).

APP	:= $(notdir $(CURDIR))
SO	:= $(APP).so

.PHONY: all setup build run test unit e2e conformance fuzz bench clean conf chaos \
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

conformance: setup build
	@scripts/conformance

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
