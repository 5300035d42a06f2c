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

# start_ferretdb PORT DIR: FerretDB (SQLite backend) on loopback.
start_ferretdb() {
	mkdir -p "$2"
	"$FERRETDB_BIN" -listen-addr "127.0.0.1:$1" -sqlite-url "file:$2/" \
	    >"$2/ferretdb.log" 2>&1 &
	FERRETDB_PID=$!
	wait_port 127.0.0.1 "$1" 30 || { say "ferretdb did not start (see $2/ferretdb.log)"; return 1; }
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
