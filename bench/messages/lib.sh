# Helpers of bench/messages/run on top of bench/lib/bench.sh: the cached
# dataset, the Node baseline, CPU roles, pinning and settling.
# shellcheck shell=bash

MSG_DIR="$BENCH/messages"

# ds_key: what the dataset depends on, hashed: the sizes, the seed
# script, the PostgreSQL version, and lnk-chat's index list (Kore creates
# its indexes at start; on a cached dataset a new one would be built over
# a million documents at every run). The cache folder is
# bench/out/dataset-<key>. BENCH_RESEED=1 seeds again anyway (after a
# change of the server's stored shapes, say).
ds_key() {
	{
		printf '%s\n' "$SEED_ARGS"
		cat "$MSG_DIR/seed.mjs"
		"$(pg_bindir)/postgres" --version
		sed -n '/indexes\[\] = {/,/^};/p' "$ROOT/src/store/store.c"
		declare -f ds_seed
	} | sha256sum | cut -c1-16
}

# ds_seed DIR: seed an empty database through lnk-chat, then stop
# everything that holds it and keep its PostgreSQL data directory (and
# the ids, meta.json) in DIR.
ds_seed() {
	local dir=$1 t0 t1
	say "seeding the dataset ($SEED_ARGS) into ${dir#"$ROOT"/}"
	t0=$(date +%s)
	bench_start_lnk "$WORKERS"
	# shellcheck disable=SC2086
	node "$MSG_DIR/seed.mjs" dataset --base-url "http://127.0.0.1:$LNK_PORT" \
	    --mongo "$(mongo_uri)" --secret "$JWT_SECRET" --meta "$OUT/meta.json" \
	    $SEED_ARGS 2>&1 | tee "$OUT/seed.log" >&2
	[ "${PIPESTATUS[0]}" = 0 ] || { say "seeding failed"; tail -20 "$OUT/kore.log" >&2; exit 1; }
	stop_group "$KORE_PID"
	KORE_PID=""
	stop_pid "$FERRETDB_PID"
	FERRETDB_PID=""
	# Kept vacuumed: every run starts from this copy, and autovacuum's
	# first pass over a million fresh rows (with the hint bits each first
	# read writes) otherwise lands in the first rows' windows (postgres
	# at 100-130% of a core during the page rows, 2026-12-02).
	"$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
	    -U postgres -d ferretdb -c 'VACUUM (FREEZE, ANALYZE)' ||
	    { say "vacuuming the dataset failed"; exit 1; }
	stop_postgres "$PG_PID"
	PG_PID=""
	t1=$(date +%s)
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	mv "$OUT/postgres/data" "$dir.tmp/data" && mv "$OUT/meta.json" "$dir.tmp/" &&
	    printf '%s\n' "$SEED_ARGS" >"$dir.tmp/params" || exit 1
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	rm -rf "$OUT/postgres" "$OUT/ferretdb"
	say "dataset seeded in $((t1 - t0)) s ($(du -sh "$dir/data" | cut -f1) of PostgreSQL data)"
	SEED_SECONDS=$((t1 - t0))
}

# ds_restore DIR: a fresh copy of the cached data directory where
# bench_start_lnk's PostgreSQL will find it (the runs write into it).
ds_restore() {
	local t0
	t0=$(date +%s.%N)
	rm -rf "$OUT/postgres"
	mkdir -p "$OUT/postgres"
	cp -a "$1/data" "$OUT/postgres/data" || { say "copying the dataset failed"; exit 1; }
	cp "$1/meta.json" "$OUT/meta.json"
	# Written back now, not by the kernel's flushers during the first
	# rows (a quarter of a core of "other processes" for tens of seconds,
	# and PostgreSQL's fsyncs queued behind it).
	sync
	say "dataset copied in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

# msg_start_node: the Node baseline on the same FerretDB (NODE_PID, so
# that bench_cleanup stops it).
msg_start_node() {
	NODE_PORT=$(free_port)
	PORT="$NODE_PORT" MONGODB_URI="$(mongo_uri)" JWT_SECRET="$JWT_SECRET" \
	    node "$MSG_DIR/node-server.mjs" >"$OUT/node.log" 2>&1 &
	NODE_PID=$!
	if ! wait_port 127.0.0.1 "$NODE_PORT" 30; then
		say "the node baseline did not start:"
		tail -20 "$OUT/node.log" >&2
		exit 1
	fi
}

# cpu_roles TARGET: the -cpu flag of `loadgen messages`.
cpu_roles() {
	local server
	case $1 in
	lnk) server="kore=pgid:$KORE_PID" ;;
	node) server="node=pid:$NODE_PID" ;;
	esac
	printf '%s,ferretdb=pid:%s,postgres=tree:%s,redis=pid:%s\n' "$server" \
	    "$FERRETDB_PID" "$PG_PID" "$REDIS_PID"
}

# server_pids: every server-side process (Kore's group, Node, FerretDB,
# the postmaster and its backends, Redis).
server_pids() {
	printf '%s\n' $REDIS_PID $FERRETDB_PID $NODE_PID
	pg_pids
	pgrep -g "${KORE_PID:-0}" 2>/dev/null
}

# msg_pin: BENCH_PIN=1 puts the server side on SERVER_CPU (the load
# client runs on CLIENT_CPU); new PostgreSQL backends inherit it from the
# postmaster.
msg_pin() {
	local p
	for p in $(server_pids); do
		taskset -a -pc "$SERVER_CPU" "$p" >/dev/null 2>&1
	done
}

# msg_settle: wait (60 s at most) until the server side is idle (under
# 5% of a core over a second), so that what one run leaves behind (the
# disconnects of 2,000 sockets) does not run into the next.
msg_settle() {
	local i a b pids
	for ((i = 0; i < 60; i++)); do
		pids=$(server_pids | tr '\n' ' ')
		# shellcheck disable=SC2086
		a=$(cpu_ticks $pids)
		sleep 1
		# shellcheck disable=SC2086
		b=$(cpu_ticks $pids)
		[ $((b - a)) -le 5 ] && return 0
	done
	say "the server side did not go idle within 60 s"
}

# msg_db_alive: FerretDB answers a findOne within 15 s.
msg_db_alive() {
	(cd "$BENCH" && timeout 15 node -e '
		const { MongoClient } = require("mongodb");
		const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000 });
		c.connect().then(() => c.db().collection("users").findOne({}, { projection: { _id: 1 } }))
		    .then(() => process.exit(0), () => process.exit(1));' "$(mongo_uri)") >/dev/null 2>&1
}

# msg_db_check WHAT: after a run, make sure FerretDB still answers; if it
# does not, say so (also in $OUT/notes.txt, which the report prints) and
# restart it on the same port (PostgreSQL keeps running; Kore's and
# Node's drivers reconnect), so the next run does not inherit the hang.
# FerretDB v1.24 can hang for good: an update command of N statements
# holds N of its 50 pooled PostgreSQL connections until the command ends
# (internal/handler/msg_update.go defers each statement's iterator close
# to the end of the loop) and needs one more for each statement's
# transaction, so N >= 50, or several big ones at once, never finish.
msg_db_check() {
	msg_db_alive && return 0
	say "FerretDB stopped answering during $1: restarting it"
	printf 'FerretDB stopped answering during %s (it was restarted before the next run).\n' \
	    "$1" >>"$OUT/notes.txt"
	kill -QUIT "$FERRETDB_PID" 2>/dev/null # Go prints every goroutine's stack to its log
	sleep 1
	stop_pid "$FERRETDB_PID"
	mv "$OUT/ferretdb/ferretdb.log" "$OUT/ferretdb/ferretdb.$(date +%H%M%S).log"
	start_ferretdb "$MONGO_PORT" "$PG_PORT" "$OUT/ferretdb" || exit 1
	msg_db_alive || { say "FerretDB does not answer after a restart"; exit 1; }
}
