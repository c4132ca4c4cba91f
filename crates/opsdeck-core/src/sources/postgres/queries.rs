//! The console's own SQL, per PostgreSQL version. Every query reads statistics views only:
//! no relation locks (sizes come from pg_class.relpages, not pg_relation_size, which would
//! queue behind an ACCESS EXCLUSIVE lock), and the session runs with statement_timeout and
//! lock_timeout set (see `connect_options`).

/// Read on connect and on the slow schedule: they change only with a reload or a restart.
pub const SETTINGS: &str = "select version(), current_setting('server_version_num')::int, \
    current_setting('max_connections')::bigint, \
    current_setting('superuser_reserved_connections')::bigint, \
    coalesce(current_setting('reserved_connections', true)::bigint, 0), \
    current_user::text, \
    pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), \
    exists(select 1 from pg_extension where extname = 'pg_stat_statements')";

/// Every poll, one round trip: the vital figures and the sessions.
///
/// Vitals: recovery, uptime, the pg_stat_database totals the rates come from, and the WAL
/// senders, counted from shared memory (no scan of every backend, as pg_stat_replication
/// does: ~12 ms at 2,000 sessions), so the standbys are read only when there is one. They
/// come as one row of their own, first column NULL, their nine figures in the last
/// columns (NULL in the other rows): a query of their own would cost a round trip (and
/// its wake-ups on both sides) every poll.
///
/// Sessions: client backends, one scan of the backends (`pg_stat_get_activity`, whose cost
/// grows with the sessions: ~15-25 ms at 2,000; the `pg_stat_activity` view's joins with
/// pg_database and pg_authid were planned as a nested loop and cost more than the scan, so
/// database and role come as oids, named from `OID_NAMES` kept between polls). Without
/// pg_read_all_stats, other roles' sessions show NULL state and backend_type and
/// `<insufficient privilege>` as query: they are kept (counted as "unknown") when they
/// have a user, so the total stays right.
///
/// Full rows (first column true) only for the sessions an on-call engineer must see: the
/// console's own, every one idle in a transaction or waiting on a lock, every blocker of a
/// waiter, the pids in `$1` (the last poll's lock tree, so a blocker that went idle is still
/// told apart from one that ended), then the `$2` first of the others by state and age (not
/// idle first, each oldest query first). Then counts of all sessions per database, role,
/// application, client and state (first column false, the count in column 14), so the
/// counts stay exact without shipping and parsing thousands of idle rows.
pub const ACTIVITY: &str = "with v as (select pg_is_in_recovery(), \
    extract(epoch from now() - pg_postmaster_start_time())::float8, \
    coalesce(sum(xact_commit), 0)::bigint, \
    coalesce(sum(xact_rollback), 0)::bigint, coalesce(sum(blks_hit), 0)::bigint, \
    coalesce(sum(blks_read), 0)::bigint, coalesce(sum(deadlocks), 0)::bigint, \
    coalesce(sum(temp_bytes), 0)::bigint, \
    (select count(*) from pg_stat_get_wal_senders()) from pg_stat_database), \
    a as materialized (select pid, \
    coalesce(datid, 0)::int8 as db, coalesce(usesysid, 0)::int8 as usr, \
    coalesce(application_name, '') as app, \
    coalesce(host(client_addr), case when client_port = -1 then 'local' else '' end) as client, \
    case when wait_event_type = 'Lock' then 'waiting on a lock' \
    else coalesce(nullif(state, ''), 'unknown') end as label, \
    coalesce(wait_event_type || ':' || wait_event, '') as wait, \
    xact_start, query_start, state_change, query, backend_start, \
    pid = pg_backend_pid() or application_name = 'opsdeck' as own \
    from pg_stat_get_activity(null) where backend_type = 'client backend' \
    or (backend_type is null and usesysid is not null)), \
    b as (select unnest(pg_blocking_pids(pid)) as pid from a where label = 'waiting on a lock'), \
    m as (select a.*, own or label like 'idle in transaction%' or label = 'waiting on a lock' \
    or pid = any($1) or pid in (select pid from b) as must from a) \
    (select true, pid, db, usr, app, client, label, wait, \
    extract(epoch from now() - xact_start)::float8, \
    extract(epoch from now() - query_start)::float8, \
    extract(epoch from now() - state_change)::float8, \
    coalesce(query, ''), own, (extract(epoch from backend_start) * 1000000)::int8, 1::int8, \
    null::bool, null::float8, null::int8, null::int8, null::int8, null::int8, null::int8, \
    null::int8, null::int8 \
    from m where must) \
    union all (select true, pid, db, usr, app, client, label, wait, \
    extract(epoch from now() - xact_start)::float8, \
    extract(epoch from now() - query_start)::float8, \
    extract(epoch from now() - state_change)::float8, \
    coalesce(query, ''), own, (extract(epoch from backend_start) * 1000000)::int8, 1::int8, \
    null, null, null, null, null, null, null, null, null \
    from m where not must order by label = 'idle', query_start nulls last, pid limit $2) \
    union all select false, 0, db, usr, app, client, label, '', null, null, null, '', false, \
    null, count(*)::int8, null, null, null, null, null, null, null, null, null \
    from a group by db, usr, app, client, label \
    union all select null, null, null, null, null, null, null, null, null, null, null, null, \
    null, null, null, v.* from v";

/// Column of `ACTIVITY` where the vital figures start (in the row whose first is NULL).
pub const VITALS_AT: usize = 15;

/// Run only when some session waits on a heavyweight lock (or when other roles' sessions
/// are hidden, so we cannot tell), once per poll: pg_blocking_pids takes every lock-manager
/// partition lock. One ungranted pg_locks row per waiting backend; on 14+ its `waitstart`
/// is when the wait began (NULL for a moment after it starts).
pub fn blocking(version_num: i32) -> &'static str {
    if version_num >= 140000 {
        "select pid, pg_blocking_pids(pid), extract(epoch from now() - waitstart)::float8, \
         extract(epoch from waitstart)::float8 from pg_locks \
         where not granted and pid is not null"
    } else {
        "select pid, pg_blocking_pids(pid), null::float8, null::float8 from pg_stat_activity \
         where wait_event_type = 'Lock'"
    }
}

/// The whole of pg_stat_statements without the query texts (reading them means reading
/// the texts file): counters per (userid, dbid, queryid), summed so that other roles'
/// statements, whose queryid is hidden, make one row per role and database.
/// `total_time` became `total_exec_time` in 13; 14 added `toplevel` (count top-level
/// statements only).
pub fn statements_snapshot(version_num: i32) -> &'static str {
    if version_num >= 140000 {
        "select userid::int8, dbid::int8, queryid, sum(calls)::int8, \
         sum(total_exec_time)::float8, sum(rows)::int8 from pg_stat_statements(false) \
         where toplevel group by 1, 2, 3"
    } else if version_num >= 130000 {
        "select userid::int8, dbid::int8, queryid, sum(calls)::int8, \
         sum(total_exec_time)::float8, sum(rows)::int8 from pg_stat_statements(false) \
         group by 1, 2, 3"
    } else {
        "select userid::int8, dbid::int8, queryid, sum(calls)::int8, \
         sum(total_time)::float8, sum(rows)::int8 from pg_stat_statements(false) \
         group by 1, 2, 3"
    }
}

/// Texts of the statements about to be shown that the console has not seen yet.
pub const STATEMENT_TEXTS: &str = "select userid::int8, dbid::int8, queryid, query \
    from pg_stat_statements(true) where queryid = any($1)";

/// Entries evicted since the last reset (PG 14+, pg_stat_statements 1.9+).
pub const STATEMENTS_DEALLOC: &str = "select dealloc from pg_stat_statements_info";

/// Names of the oids the statements carry.
pub const OID_NAMES: &str = "select 'd', oid::int8, datname::text from pg_database \
    union all select 'r', oid::int8, rolname::text from pg_roles";

/// Lags in bytes against the primary's current WAL position; times as reported (NULL when
/// the standby is caught up and idle).
/// Without pg_read_all_stats every column but pid is NULL: `state is null` says so.
pub const REPLICATION_PRIMARY: &str = "select coalesce(application_name, ''), \
    coalesce(host(client_addr), 'local'), coalesce(state, ''), coalesce(sync_state, ''), \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint, \
    extract(epoch from write_lag)::float8, extract(epoch from flush_lag)::float8, \
    extract(epoch from replay_lag)::float8, state is null from pg_stat_replication order by 1";

/// No row in pg_stat_wal_receiver: no receiver runs. A row whose status is NULL: one runs,
/// but its status needs pg_read_all_stats.
pub const REPLICATION_STANDBY: &str = "select \
    exists(select 1 from pg_stat_wal_receiver), \
    (select status from pg_stat_wal_receiver), \
    coalesce((select sender_host || ':' || sender_port from pg_stat_wal_receiver), ''), \
    coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, \
    extract(epoch from now() - pg_last_xact_replay_timestamp())::float8";

/// Replication slots and the WAL each holds back, measured from the current WAL position
/// (on a standby, which cannot call pg_current_wal_lsn: the last received or replayed).
/// wal_status and safe_wal_size came in 13, inactive_since in 17.
pub fn slots(version_num: i32, in_recovery: bool) -> String {
    let current = if in_recovery {
        "coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
    } else {
        "pg_current_wal_lsn()"
    };
    let (wal_status, safe) = if version_num >= 130000 {
        ("coalesce(wal_status, '')", "safe_wal_size")
    } else {
        ("''", "null::int8")
    };
    let inactive = if version_num >= 170000 {
        "extract(epoch from now() - inactive_since)::float8"
    } else {
        "null::float8"
    };
    format!(
        "select slot_name::text, slot_type, coalesce(database::text, ''), \
         coalesce(plugin::text, ''), active, active_pid, temporary, {wal_status}, \
         pg_wal_lsn_diff({current}, restart_lsn)::int8, {safe}::int8, {inactive} \
         from pg_replication_slots order by 1"
    )
}

const TABLE_COLUMNS: &str = "schemaname || '.' || relname, n_live_tup, n_dead_tup, \
    seq_scan, seq_tup_read, coalesce(idx_scan, 0), \
    extract(epoch from now() - greatest(last_vacuum, last_autovacuum))::float8, \
    extract(epoch from now() - greatest(last_analyze, last_autoanalyze))::float8 \
    from pg_stat_user_tables";

pub fn dead_tuples() -> String {
    format!("select {TABLE_COLUMNS} where n_dead_tup > 0 order by n_dead_tup desc limit 20")
}

pub fn seq_scan_heavy() -> String {
    format!(
        "select {TABLE_COLUMNS} where seq_scan > coalesce(idx_scan, 0) and seq_tup_read > 0 \
         order by seq_tup_read desc limit 20"
    )
}

pub const UNUSED_INDEXES: &str = "select i.schemaname || '.' || i.indexrelname, \
    i.schemaname || '.' || i.relname, \
    c.relpages::bigint * current_setting('block_size')::bigint \
    from pg_stat_user_indexes i join pg_class c on c.oid = i.indexrelid \
    join pg_index x on x.indexrelid = i.indexrelid \
    where i.idx_scan = 0 and not x.indisunique and not x.indisprimary \
    order by 3 desc limit 20";

/// Wraparound ages of every database, template0 included (autovacuum freezes it too).
pub const WRAPAROUND: &str = "select datname::text, age(datfrozenxid)::int8, \
    mxid_age(datminmxid)::int8, datallowconn from pg_database order by 2 desc";

/// pg_database_size stats every file of every database: the slow schedule only.
pub const DATABASE_SIZES: &str = "select datname::text, pg_database_size(oid) \
    from pg_database where datallowconn and has_database_privilege(oid, 'CONNECT')";

/// The databases whose size can be read, for a round of sizes spread over polls.
pub const SIZED_DATABASES: &str = "select datname::text from pg_database \
    where datallowconn and has_database_privilege(oid, 'CONNECT') order by 1";

/// The sizes of one share of a round (`$1`: database names).
pub const DATABASE_SIZES_OF: &str = "select datname::text, pg_database_size(oid) \
    from pg_database where datallowconn and has_database_privilege(oid, 'CONNECT') \
    and datname::text = any($1)";

/// Login roles and their limits; the sessions per role come from the activity of each poll.
pub const ROLES: &str = "select rolname::text, rolconnlimit from pg_roles where rolcanlogin";
