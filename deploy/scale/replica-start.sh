#!/bin/bash
# The scale profile's replica: on an empty volume, clone the primary with pg_basebackup -R (which
# writes standby.signal and primary_conninfo), then run as a hot standby streaming from it.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup --host=pg-primary --username=replicator --pgdata="$PGDATA" -R --wal-method=stream --checkpoint=fast; do
    echo "waiting for the primary…"
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 700 "$PGDATA"
fi
# hot_standby_feedback: the primary keeps the rows a long export on the replica still reads, instead of
# replay cancelling the export after max_standby_streaming_delay (at the cost of some bloat meanwhile).
exec postgres -c hot_standby=on -c hot_standby_feedback=on
