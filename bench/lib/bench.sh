# Shared shell helpers of bench/*/run: services on spare ports, pinned
# to the server's CPU, the load client built and pinned to the other CPU,
# and the /proc readings the reports use.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

say() { printf 'bench: %s\n' "$*" >&2; }

BENCH="$ROOT/bench"
# The machine has 2 cores: everything on the server side (Kore or Node,
# and Redis, FerretDB and PostgreSQL behind them) shares CPU 0, the load
# client has CPU 1 to itself.
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
CLIENT_CPU="${BENCH_CLIENT_CPU:-1}"
JWT_SECRET="bench-secret-0123456789abcdef0123"
REDIS_PID=""
FERRETDB_PID=""
PG_PID=""
KORE_PID=""
NODE_PID=""
MOCK_PID=""
LOADGEN="$BENCH/out/loadgen"

bench_cleanup() {
	trap - INT TERM EXIT
	[ -n "$NODE_PID" ] && stop_pid "$NODE_PID"
	[ -n "$MOCK_PID" ] && stop_pid "$MOCK_PID"
	stop_group "$KORE_PID"
	stop_pid "$REDIS_PID" "$FERRETDB_PID"
	stop_postgres "$PG_PID"
	if [ "${KEEP_BENCH_DATA:-0}" != 1 ]; then
		rm -rf "$OUT/redis" "$OUT/ferretdb" "$OUT/postgres" "$OUT/upload"
	fi
}

# bench_init NAME: output folder, traps, file limits, targets.
bench_init() {
	OUT="$BENCH/out/$1-$(date +%Y%m%d-%H%M%S)"
	mkdir -p "$OUT"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# 10,000 sockets need 10,000 descriptors on each side; the hard
	# limit here is 20000, so take 65535 or the hard limit.
	local hard
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] && hard=65535
	[ "$hard" -gt 65535 ] && hard=65535
	ulimit -n "$hard" || { say "cannot raise RLIMIT_NOFILE"; exit 1; }
	TARGETS="${BENCH_TARGETS:-node lnk}"
	say "bench output in ${OUT#"$ROOT"/}; targets: $TARGETS; nofile $(ulimit -n)"
}

has_target() {
	case " $TARGETS " in *" $1 "*) return 0 ;; esac
	return 1
}

bench_build_loadgen() {
	(cd "$BENCH/loadgen" && go build -o "$LOADGEN" .) ||
	    { say "building the load client failed"; exit 1; }
	[ -d "$BENCH/node_modules/socket.io" ] || {
		say "bench/node_modules is missing: run make setup"; exit 1; }
}

pin_server() {
	taskset -a -pc "$SERVER_CPU" "$1" >/dev/null
}

bench_start_redis() {
	REDIS_PORT=$(free_port)
	start_redis "$REDIS_PORT" "$OUT/redis" || exit 1
}

# bench_start_lnk WORKERS: PostgreSQL, FerretDB on it, and Kore (with the
# Redis above).
bench_start_lnk() {
	MONGO_PORT=$(free_port)
	PG_PORT=$(free_port)
	LNK_PORT=$(free_port)
	start_postgres "$PG_PORT" "$OUT/postgres" || exit 1
	start_ferretdb "$MONGO_PORT" "$PG_PORT" "$OUT/ferretdb" || exit 1
	local conf
	conf=$(kore_conf "$1")
	cp "$conf" "$OUT/kore.conf"
	(
		export PORT="$LNK_PORT" REDIS_HOST=127.0.0.1 REDIS_PORT
		export MONGODB_URI="$(mongo_uri)${BENCH_MONGO_QUERY:-}"
		export JWT_SECRET PUBLIC_URL="http://127.0.0.1:$LNK_PORT"
		export UPLOAD_PATH="$OUT/upload/chat/" LNK_ENV=production
		export RATE_LIMIT_MESSAGES=1000000 RATE_LIMIT_LOGINS=1000000
		export RATE_LIMIT_LOGINS_PER_ADDRESS=1000000
		export RATE_LIMIT_REGISTRATIONS=1000000
		cd "$ROOT" && exec setsid kore -fnrc "$OUT/kore.conf" \
		    >"$OUT/kore.log" 2>&1
	) &
	KORE_PID=$!
	# The subshell execs setsid, which execs kore: its pid is the
	# process group of every Kore process.
	if ! wait_port 127.0.0.1 "$LNK_PORT" 30; then
		say "kore did not start:"
		tail -20 "$OUT/kore.log" >&2
		exit 1
	fi
}

# bench_pin: once seeding is done (it uses both cores), move Redis and
# every Kore process with all their threads to the server CPU. FerretDB
# and PostgreSQL stay free: they mostly work while sockets connect
# (lnk-chat looks the user and their conversations up), and are idle in
# the measured windows (the runs report FerretDB's CPU as "aux").
bench_pin() {
	local p
	for p in $REDIS_PID $(pgrep -g "${KORE_PID:-0}" 2>/dev/null); do
		pin_server "$p"
	done
}

# bench_start_node ROOMS_FILE: the npm socket.io baseline.
bench_start_node() {
	NODE_PORT=$(free_port)
	PORT="$NODE_PORT" REDIS_PORT="$REDIS_PORT" ROOMS_FILE="$1" \
	    taskset -c "$SERVER_CPU" node "$BENCH/fanout/node-server.mjs" \
	    >"$OUT/node.log" 2>&1 &
	NODE_PID=$!
	if ! wait_port 127.0.0.1 "$NODE_PORT" 30; then
		say "the node baseline did not start:"
		tail -20 "$OUT/node.log" >&2
		exit 1
	fi
}

# bench_start_mock: the load client's own minimal server, to show the
# client's ceiling (see bench/loadgen/mock.go).
bench_start_mock() {
	MOCK_PORT=$(free_port)
	taskset -c "$SERVER_CPU" "$LOADGEN" mock-server -port "$MOCK_PORT" \
	    -rooms "$OUT/rooms.json" >"$OUT/mock.log" 2>&1 &
	MOCK_PID=$!
	wait_port 127.0.0.1 "$MOCK_PORT" 10 || { say "mock server did not start"; exit 1; }
}

# bench_seed SEED_FLAGS...: users, conversations and tokens (seed.json,
# rooms.json in $OUT). In lnk-chat's database when lnk is a target.
bench_seed() {
	local mode=fake
	has_target lnk && mode=db
	node "$BENCH/lib/seed.mjs" --mode "$mode" --out "$OUT" \
	    --base-url "http://127.0.0.1:${LNK_PORT:-0}" \
	    --mongo "$(mongo_uri)" --secret "$JWT_SECRET" "$@" ||
	    { say "seeding failed"; exit 1; }
}

mongo_uri() {
	printf 'mongodb://127.0.0.1:%s/lnk_bench\n' "${MONGO_PORT:-0}"
}

# pg_pids: the postmaster and its children (the backends do the work).
pg_pids() {
	[ -n "$PG_PID" ] || return 0
	printf '%s\n' "$PG_PID"
	pgrep -P "$PG_PID" 2>/dev/null
}

# url_of TARGET, pids_of TARGET (comma list for the load client).
url_of() {
	case $1 in
	lnk) printf 'http://127.0.0.1:%s\n' "$LNK_PORT" ;;
	node) printf 'http://127.0.0.1:%s\n' "$NODE_PORT" ;;
	mock) printf 'http://127.0.0.1:%s\n' "$MOCK_PORT" ;;
	esac
}

pids_of() {
	case $1 in
	lnk) pgrep -g "$KORE_PID" | paste -sd, - ;;
	node) printf '%s\n' "$NODE_PID" ;;
	mock) printf '%s\n' "$MOCK_PID" ;;
	esac
}

name_of() {
	case $1 in
	lnk) printf 'lnk-chat\n' ;;
	node) printf 'node socket.io\n' ;;
	mock) printf 'mock (ceiling)\n' ;;
	esac
}

# rss_kib TARGET: resident set of the server's processes, summed.
rss_kib() {
	local p sum=0 v
	for p in $(pids_of "$1" | tr , ' '); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	printf '%s\n' "$sum"
}

# cpu_ticks PID...: user+system clock ticks of the processes, summed.
cpu_ticks() {
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	printf '%s\n' "$sum"
}

# settle: wait (2 minutes at most) until every server-side process is
# idle (under 5% of a core over a second), so that the work one target
# leaves behind (lnk-chat's disconnect handling of 2,000 sockets keeps
# FerretDB busy for a while) does not run into the next measurement.
settle() {
	local pids i a b
	for ((i = 0; i < 120; i++)); do
		# Backends come and go: the same set for both readings.
		pids="$REDIS_PID $FERRETDB_PID $NODE_PID $MOCK_PID $(pg_pids | tr '\n' ' ')"
		pids="$pids $(pgrep -g "${KORE_PID:-0}" 2>/dev/null | tr '\n' ' ')"
		# shellcheck disable=SC2086
		a=$(cpu_ticks $pids)
		sleep 1
		# shellcheck disable=SC2086
		b=$(cpu_ticks $pids)
		[ $((b - a)) -le 5 ] && return 0
	done
	say "the server side did not go idle within 2 minutes"
}

# tcp_mem_pages: kernel TCP buffer memory, /proc/net/sockstat "TCP: ... mem".
tcp_mem_pages() {
	awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) }' \
	    /proc/net/sockstat
}

slab_kib() {
	awk '/^Slab:/ {print $2}' /proc/meminfo
}

# field NAME LINE: the value of NAME=value in a RESULT line.
field() {
	printf '%s\n' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'
}
