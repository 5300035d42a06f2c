# Shared shell helpers for scripts/: service start/stop and port waits.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR="$ROOT/var"
FERRETDB_BIN="$VAR/bin/ferretdb"

say() { printf '%s\n' "lnk-chat: $*" >&2; }

# wait_port HOST PORT SECONDS
wait_port() {
	local i
	for ((i = 0; i <= $3 * 10; i++)); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# free_port: a TCP port nobody listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_redis PORT DIR: Redis on loopback, no persistence, in the background.
start_redis() {
	mkdir -p "$2"
	redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
	    --dir "$2" --logfile "$2/redis.log" --daemonize no &
	REDIS_PID=$!
	wait_port 127.0.0.1 "$1" 20 || { say "redis did not start (see $2/redis.log)"; return 1; }
}

# pg_bindir [DATA]: PostgreSQL's programs (Debian keeps them off PATH), of
# the version of the cluster in DATA if there is one, else of the newest
# server installed.
pg_bindir() {
	local v
	if [ -n "${1:-}" ] && [ -f "$1/PG_VERSION" ]; then
		v=$(cat "$1/PG_VERSION")
		[ -x "/usr/lib/postgresql/$v/bin/postgres" ] && {
			printf '%s\n' "/usr/lib/postgresql/$v/bin"; return 0; }
	fi
	for v in $(ls /usr/lib/postgresql 2>/dev/null | sort -rV); do
		[ -x "/usr/lib/postgresql/$v/bin/postgres" ] && {
			printf '%s\n' "/usr/lib/postgresql/$v/bin"; return 0; }
	done
	say "the PostgreSQL server is not installed (run make setup)"
	return 1
}

# as_pg CMD...: PostgreSQL refuses to run as root: as root, run CMD as the
# postgres system user (created by Debian's package), else as ourselves.
# Without CMD, only sets exec_as_pg (the prefix, for exec).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		exec_as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	else
		exec_as_pg=()
	fi
	[ $# = 0 ] || "${exec_as_pg[@]}" "$@"
}

# pg_url PORT: what FerretDB and psql connect to.
pg_url() {
	printf 'postgres://postgres@127.0.0.1:%s/ferretdb\n' "$1"
}

# start_postgres PORT DIR: a PostgreSQL cluster in DIR/data (created on
# first use), on 127.0.0.1:PORT and a unix socket in DIR, in the
# background (PG_PID), with the database ferretdb and
# scripts/postgres/ferretdb.sql applied. Log: DIR/postgres.log.
start_postgres() {
	local port=$1 dir data bin sock d i up=()
	mkdir -p "$2" && dir=$(cd "$2" && pwd) || return 1
	data="$dir/data"
	bin=$(pg_bindir "$data") || return 1
	if [ "$(id -u)" = 0 ]; then
		[ "$(stat -c %U "$dir")" = postgres ] || chown -R postgres: "$dir"
		# The postgres user must be able to reach DIR: make the folders
		# above it traversable (not readable) where they are not.
		d=$(dirname "$dir")
		while [ "$d" != / ]; do
			up=("$d" "${up[@]}")
			d=$(dirname "$d")
		done
		for d in "${up[@]}"; do
			as_pg test -x "$d" ||
			    { say "chmod a+x $d (for the postgres user)"; chmod a+x "$d"; }
		done
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		say "initialising a PostgreSQL cluster in ${dir#"$ROOT"/}"
		rm -rf "$dir/data.init"
		(cd "$dir" && as_pg "$bin/initdb" -D "$dir/data.init" -U postgres -A trust \
		    -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions) \
		    >"$dir/initdb.log" 2>&1 ||
		    { say "initdb failed (see $dir/initdb.log)"; return 1; }
		# Trust, on loopback only (and the socket in DIR, owner-only).
		printf 'local\tall\tall\t\t\ttrust\nhost\tall\tall\t127.0.0.1/32\ttrust\n' \
		    >"$dir/data.init/pg_hba.conf"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir/data.init/pg_hba.conf"
		mv "$dir/data.init" "$data"
	fi
	# A unix socket path longer than 107 bytes cannot be bound: none then.
	sock=$dir
	[ ${#sock} -le 90 ] || sock=""
	# PostgreSQL's default buffers, 128MB (with 32MB inserts evicted
	# dirty GIN pages: perf showed mdwrite under ginFindLeafPage, and
	# REST sends were 5-10% slower); fsync and synchronous_commit on
	# (nothing acknowledged is lost in a crash); plan_cache_mode: see
	# scripts/postgres/ferretdb.sql;
	# one log line per error, without statement or detail (unique-key
	# refusals are routine here), the log truncated at each start.
	as_pg
	(cd "$dir" && exec "${exec_as_pg[@]}" "$bin/postgres" -D "$data" -p "$port" \
	    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$sock" \
	    -c unix_socket_permissions=0700 \
	    -c shared_buffers=128MB -c max_wal_size=256MB -c jit=off \
	    -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
	    -c plan_cache_mode=force_custom_plan \
	    -c logging_collector=off -c log_min_messages=warning -c log_checkpoints=off \
	    -c log_error_verbosity=terse -c log_min_error_statement=panic \
	    ) >"$dir/postgres.log" 2>&1 &
	PG_PID=$!
	for ((i = 0; i < 600; i++)); do
		"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres && break
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres ||
	    { say "postgres did not start (see $dir/postgres.log)"; return 1; }
	local psql=(env PGOPTIONS="-c client_min_messages=warning"
	    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
	if [ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")" ]; then
		"${psql[@]}" -d postgres -c 'CREATE DATABASE ferretdb' ||
		    { say "could not create the database ferretdb"; return 1; }
	fi
	"${psql[@]}" -d ferretdb -f "$ROOT/scripts/postgres/ferretdb.sql" ||
	    { say "applying scripts/postgres/ferretdb.sql failed"; return 1; }
}

# stop_postgres PID: fast shutdown (INT: clients are disconnected, a
# checkpoint is written), then immediate (QUIT) after 20 s, KILL after 25 s.
stop_postgres() {
	local i
	[ -n "${1:-}" ] || return 0
	kill -INT "$1" 2>/dev/null || return 0
	for ((i = 0; i < 250; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		[ $i = 200 ] && kill -QUIT "$1" 2>/dev/null
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	return 0
}

# start_ferretdb PORT PG_PORT DIR: FerretDB on loopback, on the
# PostgreSQL of start_postgres (log in DIR).
start_ferretdb() {
	mkdir -p "$3"
	"$FERRETDB_BIN" -listen-addr "127.0.0.1:$1" -postgresql-url "$(pg_url "$2")" \
	    >"$3/ferretdb.log" 2>&1 &
	FERRETDB_PID=$!
	wait_port 127.0.0.1 "$1" 30 || { say "ferretdb did not start (see $3/ferretdb.log)"; return 1; }
}

# stop_pid PID...: TERM, then KILL what is left after 5 s.
stop_pid() {
	local p i
	for p in "$@"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for p in "$@"; do
			[ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# stop_group PGID: the whole process group of a setsid'd Kore.
stop_group() {
	local i
	[ -n "$1" ] || return 0
	kill -TERM -- "-$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$1" 2>/dev/null
	return 0
}

# kore_conf WORKERS: a Kore config for this checkout (kodev's name rules).
kore_conf() {
	local app out
	app=$(basename "$ROOT")
	out="$VAR/run/kore-$1w.conf"
	mkdir -p "$VAR/run"
	{
		printf 'load\t\t%s/%s.so\n' "$ROOT" "$app"
		printf 'include\t\t%s/kore.conf\n' "$ROOT"
		printf 'workers\t\t%s\n' "$1"
	} >"$out"
	printf '%s\n' "$out"
}
