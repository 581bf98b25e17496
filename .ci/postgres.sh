#!/usr/bin/env bash
# A throw-away PostgreSQL server on localhost for the shared-study test (tests/test_tune_postgres.py).
#   bash .ci/postgres.sh start DIR   installs Debian's postgresql when missing, starts a server with
#                                    its data in DIR, prints its URL on stdout (exit 1 + reason on failure)
#   bash .ci/postgres.sh stop DIR    stops it and removes DIR
# The server runs as the `postgres` user (it refuses root), trusts local connections only and listens
# on 127.0.0.1 at a free port.
set -uo pipefail
cmd="${1:-}" dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$cmd" = stop ]; then
    bin="$(pg_bin)"
    [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    rm -rf "$dir"
    exit 0
fi

if [ -z "$(pg_bin)" ]; then
    echo "installing Debian's postgresql" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 ||
        { echo "apt-get install postgresql failed" >&2; exit 1; }
fi
bin="$(pg_bin)"
[ -n "$bin" ] || { echo "no PostgreSQL binaries under /usr/lib/postgresql after installing" >&2; exit 1; }
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "no postgres user to run the server as" >&2; exit 1
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$dir" && chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust -U nnj >"$dir/initdb.log" 2>&1 ||
    { echo "initdb failed: $(tail -n 1 "$dir/initdb.log")" >&2; exit 1; }
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null 2>&1 ||
    { echo "the server did not start: $(tail -n 1 "$dir/server.log" 2>/dev/null)" >&2; exit 1; }
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U nnj nnj_test 2>"$dir/createdb.log" ||
    { echo "createdb failed: $(tail -n 1 "$dir/createdb.log")" >&2; exit 1; }
echo "postgresql://nnj@127.0.0.1:$port/nnj_test"
