#!/bin/bash
# Runs once, when the scale profile's primary initialises its data directory (docker-entrypoint-initdb.d).
set -euo pipefail

# A role that may only stream WAL, for the replica's pg_basebackup and its primary_conninfo.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
-- PgBouncer drops the service's statement_timeout startup parameter (docs/scaling.md#pgbouncer):
-- the server applies DB_STATEMENT_TIMEOUT_MS itself, for the service's role in its database.
ALTER ROLE "${POSTGRES_USER}" IN DATABASE "${POSTGRES_DB}" SET statement_timeout = '${STATEMENT_TIMEOUT}';
SQL

# Replication connections match no "all" line of the image's pg_hba.conf: allow the replicator.
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
