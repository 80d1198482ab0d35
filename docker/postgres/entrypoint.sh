#!/bin/sh
# Make the cluster on first start (user, password, database from the environment),
# then run the server in the foreground on 127.0.0.1 and ${PGPORT:-5432}.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # UTF-8 as the official image: a minimal Debian has no locale, and initdb would
  # pick SQL_ASCII, whose text psycopg hands back as bytes.
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=127.0.0.1 -p ${PGPORT:-5432}" -w start >/dev/null
  PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -p "${PGPORT:-5432}" -U "$POSTGRES_USER" -d postgres \
    -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c "listen_addresses=${POSTGRES_LISTEN:-127.0.0.1}" -p "${PGPORT:-5432}"
