# Sourced by scripts/bench-pg-load and scripts/bench-scale (not run by itself): a throw-away
# PostgreSQL cluster, big and busy, in a temp dir.
#
# pg_load_up builds DBS databases (default 200) with about RELS relations (default 20000:
# tables with a primary key and a TOAST table, 4 relations each) and SESSIONS client sessions
# (default 500), connected for DURATION seconds:
#   - PG_RUNNING sessions (default 0) running a 5 s pg_sleep back to back (active);
#   - PG_IDLE sessions (default 0) running a small query every 60 s (idle nearly always);
#   - the rest running a small query every 2 s (pgbench clients, 25 per process);
#   - a lock held with 3 sessions queued behind it, and a session idle in transaction.
# It sets PGBIN, PORT, TMP, DATA, PSQL (psql as postgres, unaligned, no header), TABLES and
# RELCOUNT, and creates the pg_monitor roles opsdeck_mon and pgactivity_mon and the
# pg_stat_statements extension. pg_load_down stops everything and removes the temp dir; the
# caller traps it. Needs PostgreSQL with postgresql-contrib (pgbench, pg_stat_statements).

pg_load_down() {
    exec 3>&- 2> /dev/null || true
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        [ -f "$TMP/pgbench.pids" ] && xargs kill 2> /dev/null < "$TMP/pgbench.pids" || true
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate stop > /dev/null 2>&1 || true
        rm -rf "$TMP"
    fi
}

# pg_load_clients COUNT SCRIPT: COUNT pgbench sessions running SCRIPT, 25 per process,
# spread over the databases.
pg_load_clients() {
    left=$1
    while [ "$left" -gt 0 ]; do
        n=25
        [ "$left" -lt 25 ] && n=$left
        PG_LOAD_PROC=$((PG_LOAD_PROC + 1))
        db=bench_$(( (PG_LOAD_PROC - 1) % DBS + 1 ))
        "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -n -M simple -c "$n" -j 1 \
            -T "$DURATION" -f "$2" "$db" > "$TMP/pgbench.$PG_LOAD_PROC.log" 2>&1 &
        echo $! >> "$TMP/pgbench.pids"
        left=$((left - n))
    done
}

pg_load_up() {
    DBS=${DBS:-200}
    RELS=${RELS:-20000}
    SESSIONS=${SESSIONS:-500}
    PG_RUNNING=${PG_RUNNING:-0}
    PG_IDLE=${PG_IDLE:-0}
    DURATION=${DURATION:-420}
    PGBIN=${OPSDECK_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)}
    [ -x "$PGBIN/pgbench" ] || { echo "pgbench not found in '$PGBIN': apt-get install postgresql postgresql-contrib" >&2; exit 1; }
    [ $((PG_RUNNING + PG_IDLE + 5)) -le "$SESSIONS" ] || { echo "SESSIONS=$SESSIONS is fewer than PG_RUNNING + PG_IDLE + 5" >&2; exit 1; }
    PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-bench-pg.XXXXXX")
    DATA=$TMP/data
    # initdb and postgres refuse root: run them as the postgres user then.
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$TMP"
        as_pg() { runuser -u postgres -- "$@"; }
    else
        as_pg() { "$@"; }
    fi
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --no-sync --no-instructions > /dev/null ||
        { echo "initdb failed in $DATA" >&2; exit 1; }
    cat >> "$DATA/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP'
max_connections = $((SESSIONS + 60))
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_locks_per_transaction = 256
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
pg_stat_statements.track_planning = on
pg_stat_statements.max = 10000
logging_collector = off
CONF
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w start > /dev/null ||
        { echo "PostgreSQL did not start; its log:" >&2; tail -20 "$TMP/server.log" >&2; exit 1; }
    PSQL="$PGBIN/psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PORT -U postgres"
    $PSQL -d postgres -c "create extension pg_stat_statements" \
        -c "create role opsdeck_mon login in role pg_monitor" \
        -c "create role pgactivity_mon login in role pg_monitor"

    TABLES=$((RELS / DBS / 4))
    echo "building $DBS databases x $TABLES tables (4 relations each) ..." >&2
    i=1
    while [ "$i" -le "$DBS" ]; do
        $PSQL -d postgres -c "create database bench_$i"
        $PSQL -d "bench_$i" -c "do \$\$ begin for t in 1..$TABLES loop execute format(
            'create table t_%s (id int primary key, v text);
             insert into t_%s select g, md5(g::text) from generate_series(1, 100) g', t, t);
            end loop; end \$\$" -c "analyze"
        i=$((i + 1))
    done
    RELCOUNT=0
    i=1
    while [ "$i" -le "$DBS" ]; do
        # User relations (oid >= 16384): tables, their indexes and TOAST tables.
        n=$($PSQL -d "bench_$i" -c "select count(*) from pg_class where oid >= 16384")
        RELCOUNT=$((RELCOUNT + n))
        i=$((i + 1))
    done

    printf '\\set id random(1, 100)\n\\set t random(1, %s)\nselect v from t_:t where id = :id;\n\\sleep %s s\n' \
        "$TABLES" 2 > "$TMP/client.sql"
    printf '\\set id random(1, 100)\n\\set t random(1, %s)\nselect v from t_:t where id = :id;\n\\sleep %s s\n' \
        "$TABLES" 60 > "$TMP/idle.sql"
    printf 'select pg_sleep(5);\n' > "$TMP/running.sql"
    echo "connecting $SESSIONS sessions ..." >&2
    : > "$TMP/pgbench.pids"
    PG_LOAD_PROC=0
    pg_load_clients $((SESSIONS - 5 - PG_RUNNING - PG_IDLE)) "$TMP/client.sql"
    pg_load_clients "$PG_IDLE" "$TMP/idle.sql"
    pg_load_clients "$PG_RUNNING" "$TMP/running.sql"
    # A held lock with three sessions queued behind it, and one session idle in transaction.
    $PSQL -d bench_1 -c "create table locked (x int)"
    $PSQL -d bench_1 -c "lock table locked in access exclusive mode; select pg_sleep($DURATION)" > /dev/null 2>&1 &
    echo $! >> "$TMP/pgbench.pids"
    sleep 1
    for w in 1 2 3; do
        $PSQL -d bench_1 -c "select count(*) from locked" > /dev/null 2>&1 &
        echo $! >> "$TMP/pgbench.pids"
    done
    # psql reads a FIFO this shell keeps open: after the begin it waits, idle in transaction.
    mkfifo "$TMP/itx"
    $PSQL -d bench_2 < "$TMP/itx" > /dev/null 2>&1 &
    echo $! >> "$TMP/pgbench.pids"
    exec 3> "$TMP/itx"
    printf 'begin;\nselect 1;\n' >&3
    tries=0
    while :; do
        n=$($PSQL -d postgres -c "select count(*) from pg_stat_activity where backend_type = 'client backend'")
        [ "$n" -ge "$SESSIONS" ] && break
        tries=$((tries + 1))
        [ "$tries" -gt 300 ] && { echo "only $n of $SESSIONS sessions connected after 300 s (pgbench logs in the temp dir say why)" >&2; tail -3 "$TMP"/pgbench.1.log >&2; exit 1; }
        sleep 1
    done
}
