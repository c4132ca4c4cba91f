//! The console's own SQL, per PostgreSQL version. Every query reads statistics views only:
//! no relation locks (sizes come from pg_class.relpages, not pg_relation_size, which would
//! queue behind an ACCESS EXCLUSIVE lock), and the session runs with statement_timeout and
//! lock_timeout set (see `connect_options`).

pub const SERVER: &str = "select version(), current_setting('server_version_num')::int, \
    pg_is_in_recovery(), \
    extract(epoch from now() - pg_postmaster_start_time())::float8, \
    current_setting('max_connections')::bigint, \
    current_setting('superuser_reserved_connections')::bigint, \
    coalesce((select setting::bigint from pg_settings where name = 'reserved_connections'), 0), \
    current_user::text, \
    pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), \
    exists(select 1 from pg_extension where extname = 'pg_stat_statements')";

/// Client backends. Without pg_read_all_stats, other roles' sessions show NULL state and
/// backend_type and `<insufficient privilege>` as query: they are kept (counted as
/// "unknown") when they have a user, so the total stays right.
pub const ACTIVITY: &str = "select pid, coalesce(datname, ''), coalesce(usename, ''), \
    coalesce(application_name, ''), \
    coalesce(host(client_addr), case when client_port = -1 then 'local' else '' end), \
    state, wait_event_type, \
    coalesce(wait_event_type || ':' || wait_event, ''), \
    extract(epoch from now() - xact_start)::float8, \
    extract(epoch from now() - query_start)::float8, \
    extract(epoch from now() - state_change)::float8, \
    coalesce(query, ''), \
    pid = pg_backend_pid() or application_name = 'opsdeck' \
    from pg_stat_activity where backend_type = 'client backend' \
    or (backend_type is null and usesysid is not null)";

/// Only sessions waiting on a heavyweight lock are asked for their blockers.
pub const BLOCKING: &str = "select pid, pg_blocking_pids(pid) from pg_stat_activity \
    where wait_event_type = 'Lock'";

pub const DATABASE_TOTALS: &str = "select coalesce(sum(xact_commit), 0)::bigint, \
    coalesce(sum(xact_rollback), 0)::bigint, coalesce(sum(blks_hit), 0)::bigint, \
    coalesce(sum(blks_read), 0)::bigint, coalesce(sum(deadlocks), 0)::bigint, \
    coalesce(sum(temp_bytes), 0)::bigint from pg_stat_database";

/// pg_stat_statements: `total_time`/`mean_time` became `total_exec_time`/`mean_exec_time`
/// in 13; 14 added `toplevel` (count top-level statements only); 17 renamed the block
/// timing columns, which are not read here.
pub fn statements(version_num: i32) -> &'static str {
    if version_num >= 140000 {
        "select s.queryid, coalesce(d.datname, ''), coalesce(r.rolname, ''), s.calls, \
         s.total_exec_time::float8, s.mean_exec_time::float8, s.rows, coalesce(s.query, '') \
         from pg_stat_statements s left join pg_database d on d.oid = s.dbid \
         left join pg_roles r on r.oid = s.userid where s.toplevel and s.queryid is not null \
         order by s.total_exec_time desc limit 200"
    } else if version_num >= 130000 {
        "select s.queryid, coalesce(d.datname, ''), coalesce(r.rolname, ''), s.calls, \
         s.total_exec_time::float8, s.mean_exec_time::float8, s.rows, coalesce(s.query, '') \
         from pg_stat_statements s left join pg_database d on d.oid = s.dbid \
         left join pg_roles r on r.oid = s.userid where s.queryid is not null \
         order by s.total_exec_time desc limit 200"
    } else {
        "select s.queryid, coalesce(d.datname, ''), coalesce(r.rolname, ''), s.calls, \
         s.total_time::float8, s.mean_time::float8, s.rows, coalesce(s.query, '') \
         from pg_stat_statements s left join pg_database d on d.oid = s.dbid \
         left join pg_roles r on r.oid = s.userid where s.queryid is not null \
         order by s.total_time desc limit 200"
    }
}

/// Lags in bytes against the primary's current WAL position; times as reported (NULL when
/// the standby is caught up and idle).
pub const REPLICATION_PRIMARY: &str = "select coalesce(application_name, ''), \
    coalesce(host(client_addr), 'local'), coalesce(state, ''), coalesce(sync_state, ''), \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0)::bigint, \
    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint, \
    extract(epoch from write_lag)::float8, extract(epoch from flush_lag)::float8, \
    extract(epoch from replay_lag)::float8 from pg_stat_replication order by 1";

pub const REPLICATION_STANDBY: &str = "select \
    coalesce((select status from pg_stat_wal_receiver), 'stopped'), \
    coalesce((select sender_host || ':' || sender_port from pg_stat_wal_receiver), ''), \
    coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, \
    extract(epoch from now() - pg_last_xact_replay_timestamp())::float8";

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

pub const DATABASES: &str = "select datname, \
    case when has_database_privilege(oid, 'CONNECT') then pg_database_size(oid) end, \
    age(datfrozenxid)::bigint from pg_database where datallowconn order by 3 desc";

pub const ROLES: &str = "select r.rolname::text, r.rolconnlimit, \
    (select count(*) from pg_stat_activity a where a.usesysid = r.oid) \
    from pg_roles r where r.rolcanlogin order by 3 desc, 1";
