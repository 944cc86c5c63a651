#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL server for the tests.
#
#   eval "$(scripts/pg.sh start DIR)"   # prints export lines (DRNAV_TEST_PG_*)
#   scripts/pg.sh stop DIR
#
# The server runs as a non-root user (postgres when we are root), listens only
# on 127.0.0.1 on a free port, keeps its data in DIR, and archives WAL into
# DIR/archive so the RPO-freshness code has a real archiver to read.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}

find_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
  return 1
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ]; then
  echo "pg.sh: PostgreSQL server binaries missing; installing the Debian postgresql package" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "pg.sh: need root to apt-get install postgresql" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-contrib >&2
  # The package starts a cluster of its own on 5432; we do not use it.
  bindir=$(find_bindir)
fi

as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$pguser" -- "$@")
  else
    "$@"
  fi
}
pguser=$(id -un)
[ "$(id -u)" -eq 0 ] && pguser=postgres
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$pguser" "$dir"
  chmod 0700 "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  pw=drnav-test-secret
  printf '%s\n' "$pw" > "$dir/pwfile"
  [ "$(id -u)" -eq 0 ] && chown "$pguser" "$dir/pwfile"
  as_user "$bindir/initdb" -D "$dir/data" -U drnav --pwfile="$dir/pwfile" -A scram-sha-256 --auth-local=trust >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_user mkdir -p "$dir/archive"
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
archive_mode = on
archive_command = 'test ! -f $dir/archive/%f && cp %p $dir/archive/%f'
archive_timeout = 60
max_connections = 50
CONF
  as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export DRNAV_TEST_PG_DSN='postgres://drnav:$pw@127.0.0.1:$port/postgres?sslmode=disable'"
  echo "export DRNAV_TEST_PG_DIR='$dir'"
  echo "export DRNAV_TEST_PG_BIN='$bindir'"
  echo "export DRNAV_TEST_PG_USER='$pguser'"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  ;;
*)
  echo "usage: pg.sh start|stop DIR" >&2; exit 2 ;;
esac
