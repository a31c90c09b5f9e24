#!/usr/bin/env bash
# Makes sure a local PostgreSQL server runs (Debian's packages) with a role the tests may create
# databases as, then prints the URL to use as TEST_DATABASE_URL. Skips what is already done.
set -euo pipefail
ROLE=connections_test
PASSWORD=connections_test
PORT="${PGPORT:-5432}"

log() { printf '[postgres] %s\n' "$*" >&2; }

if ! command -v pg_lsclusters >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  log "installing postgresql from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  log "creating cluster $version/main"
  pg_createcluster "$version" main --port "$PORT" >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  log "starting cluster $version/main"
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -p $PORT -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
if ! su postgres -c "psql -p $PORT -qtAc \"select 1 from pg_roles where rolname = '$ROLE'\"" | grep -q 1; then
  log "creating role $ROLE"
  # SUPERUSER only for the tests' own throwaway databases and triggers on a local server.
  su postgres -c "psql -p $PORT -qc \"create role $ROLE login superuser password '$PASSWORD'\""
fi
# Each test makes its own database; drop the ones earlier runs left behind.
su postgres -c "psql -p $PORT -qtAc \"select format('drop database %I;', datname) from pg_database where datname like 'connections_test_%'\"" \
  | su postgres -c "psql -p $PORT -q" >/dev/null
echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/postgres"
