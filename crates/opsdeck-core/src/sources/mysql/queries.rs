//! The console's own SQL, per flavour. Every statement starts with `/* opsdeck */` so a
//! person reading the processlist (or the slow log) knows whose it is; all of them read
//! status tables only, and the session runs with a statement time limit and short lock
//! waits (see `session_setup`).

use super::model::Flavor;

pub const VERSION: &str = "/* opsdeck */ SELECT VERSION() AS version";

/// Statement limit (the console never holds a thread long), short lock waits (it never
/// queues behind an application's lock), and the variable other consoles recognise it by.
pub fn session_setup(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mariadb => {
            "/* opsdeck */ SET @opsdeck = 'console', SESSION max_statement_time = 5, \
             SESSION innodb_lock_wait_timeout = 1, SESSION lock_wait_timeout = 2"
        }
        // max_execution_time limits SELECTs only, which is all the console runs there.
        Flavor::Mysql => {
            "/* opsdeck */ SET @opsdeck = 'console', SESSION max_execution_time = 5000, \
             SESSION innodb_lock_wait_timeout = 1, SESSION lock_wait_timeout = 2"
        }
    }
}

pub const SERVER: &str = "/* opsdeck */ SELECT VERSION() AS version, \
    CONNECTION_ID() AS own_id, CURRENT_USER() AS user, @@server_id AS server_id, \
    @@read_only AS read_only, @@performance_schema AS performance_schema, \
    @@max_connections AS max_connections, UNIX_TIMESTAMP(NOW(6)) AS now";

pub const STATUS: &str = "/* opsdeck */ SHOW GLOBAL STATUS WHERE Variable_name IN (\
    'Uptime', 'Threads_connected', 'Threads_running', 'Max_used_connections', 'Questions', \
    'Slow_queries', 'Aborted_connects', 'Aborted_clients', 'Innodb_deadlocks', \
    'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads', \
    'Innodb_row_lock_current_waits')";

/// MySQL has no `Innodb_deadlocks` status; its InnoDB metric counts the same.
pub const DEADLOCKS_METRIC: &str = "/* opsdeck */ SELECT `COUNT` AS n \
    FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'";

/// Open InnoDB transactions. Needs PROCESS, so it doubles as the privilege probe.
pub const TRANSACTIONS: &str = "/* opsdeck */ SELECT trx_mysql_thread_id AS thread, \
    trx_state AS state, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age, \
    trx_rows_modified AS modified FROM information_schema.INNODB_TRX";

/// Every thread but the console's own; `started` is when the current command began on
/// the server's clock (MariaDB has milliseconds, MySQL whole seconds). MariaDB also has
/// the statement's QUERY_ID, which `KILL QUERY ID` takes.
pub fn processlist(flavor: Flavor) -> String {
    format!("{} WHERE ID <> CONNECTION_ID()", threads_select(flavor))
}

/// One thread by id (the id is a number, never text from a person).
pub fn thread(flavor: Flavor, id: u64) -> String {
    format!("{} WHERE ID = {id}", threads_select(flavor))
}

fn threads_select(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mariadb => {
            "/* opsdeck */ SELECT ID AS id, USER AS user, HOST AS host, DB AS db, \
             COMMAND AS command, TIME_MS / 1000 AS seconds, STATE AS state, \
             LEFT(INFO, 4096) AS info, UNIX_TIMESTAMP(NOW(6)) - TIME_MS / 1000 AS started, \
             QUERY_ID AS query_id FROM information_schema.PROCESSLIST"
        }
        Flavor::Mysql => {
            "/* opsdeck */ SELECT ID AS id, USER AS user, HOST AS host, DB AS db, \
             COMMAND AS command, TIME AS seconds, STATE AS state, LEFT(INFO, 4096) AS info, \
             UNIX_TIMESTAMP(NOW(6)) - TIME AS started FROM information_schema.PROCESSLIST"
        }
    }
}

/// Connections of opsdeck consoles (their `@opsdeck` variable); needs performance_schema.
pub const CONSOLES: &str = "/* opsdeck */ SELECT t.PROCESSLIST_ID AS id \
    FROM performance_schema.user_variables_by_thread v \
    JOIN performance_schema.threads t ON t.THREAD_ID = v.THREAD_ID \
    WHERE v.VARIABLE_NAME = 'opsdeck' AND t.PROCESSLIST_ID IS NOT NULL";

/// Which lock-wait view this server has (MariaDB and MySQL 5.7 keep the old
/// information_schema tables; MySQL 8 moved them to performance_schema).
pub const LOCK_VIEWS: &str = "/* opsdeck */ SELECT LOWER(TABLE_SCHEMA) AS s, \
    LOWER(TABLE_NAME) AS t FROM information_schema.TABLES \
    WHERE (TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'INNODB_LOCK_WAITS') \
    OR (TABLE_SCHEMA = 'performance_schema' AND TABLE_NAME = 'data_lock_waits')";

pub const LOCK_SOURCE_IS: &str = "information_schema.INNODB_LOCK_WAITS";
pub const LOCK_SOURCE_PS: &str = "performance_schema.data_lock_waits";

/// Who waits for whom, one row per (waiter, blocker) pair, from the view `source` names.
pub fn lock_waits(source: &str) -> Option<&'static str> {
    match source {
        LOCK_SOURCE_IS => Some(
            "/* opsdeck */ SELECT r.trx_mysql_thread_id AS waiter, \
             b.trx_mysql_thread_id AS blocker, \
             TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait, \
             l.lock_mode AS mode, l.lock_table AS tbl, l.lock_index AS idx \
             FROM information_schema.INNODB_LOCK_WAITS w \
             JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id \
             JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id \
             LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id",
        ),
        LOCK_SOURCE_PS => Some(
            "/* opsdeck */ SELECT r.trx_mysql_thread_id AS waiter, \
             b.trx_mysql_thread_id AS blocker, \
             TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait, \
             l.LOCK_MODE AS mode, CONCAT(l.OBJECT_SCHEMA, '.', l.OBJECT_NAME) AS tbl, \
             l.INDEX_NAME AS idx FROM performance_schema.data_lock_waits w \
             JOIN information_schema.INNODB_TRX r \
             ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID \
             JOIN information_schema.INNODB_TRX b \
             ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID \
             LEFT JOIN performance_schema.data_locks l \
             ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID",
        ),
        _ => None,
    }
}

/// Statement digests, the most total time first (timers are in picoseconds).
pub const DIGESTS: &str = "/* opsdeck */ SELECT SCHEMA_NAME AS schema_name, \
    DIGEST AS digest, LEFT(DIGEST_TEXT, 4096) AS text, COUNT_STAR AS calls, \
    SUM_TIMER_WAIT / 1000000000 AS total_ms, MAX_TIMER_WAIT / 1000000000 AS max_ms, \
    SUM_ROWS_EXAMINED AS examined, SUM_ROWS_SENT AS sent, SUM_ERRORS AS errors, \
    SUM_NO_INDEX_USED AS no_index \
    FROM performance_schema.events_statements_summary_by_digest \
    WHERE DIGEST IS NOT NULL ORDER BY SUM_TIMER_WAIT DESC LIMIT 200";

/// The replica-side status of every channel. MariaDB lists all connections with
/// `SHOW ALL SLAVES STATUS`; MySQL renamed SLAVE/MASTER to REPLICA/SOURCE in 8.0.22.
pub fn replica_status(flavor: Flavor, version: &str) -> &'static str {
    match flavor {
        Flavor::Mariadb => "/* opsdeck */ SHOW ALL SLAVES STATUS",
        Flavor::Mysql if version_at_least(version, (8, 0, 22)) => {
            "/* opsdeck */ SHOW REPLICA STATUS"
        }
        Flavor::Mysql => "/* opsdeck */ SHOW SLAVE STATUS",
    }
}

pub fn gtid_positions(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Mariadb => {
            "/* opsdeck */ SELECT @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS slave"
        }
        Flavor::Mysql => "/* opsdeck */ SELECT @@gtid_executed AS binlog, '' AS slave",
    }
}

/// "8.0.35-log" >= (8, 0, 22)?
pub fn version_at_least(version: &str, want: (u32, u32, u32)) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let got = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    got >= want
}

pub fn flavor_of(version: &str) -> Flavor {
    if version.to_ascii_lowercase().contains("mariadb") {
        Flavor::Mariadb
    } else {
        Flavor::Mysql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavour_and_version_pick_the_statements() {
        assert_eq!(flavor_of("10.11.6-MariaDB-0+deb12u1-log"), Flavor::Mariadb);
        assert_eq!(flavor_of("8.0.36"), Flavor::Mysql);
        assert!(version_at_least("8.0.22", (8, 0, 22)));
        assert!(!version_at_least("8.0.21-log", (8, 0, 22)));
        assert!(version_at_least("8.4.0", (8, 0, 22)));
        assert_eq!(
            replica_status(Flavor::Mysql, "8.0.36"),
            "/* opsdeck */ SHOW REPLICA STATUS"
        );
        assert_eq!(
            replica_status(Flavor::Mysql, "5.7.44"),
            "/* opsdeck */ SHOW SLAVE STATUS"
        );
        assert!(replica_status(Flavor::Mariadb, "10.11.6-MariaDB").contains("ALL SLAVES"));
        assert!(processlist(Flavor::Mariadb).contains("TIME_MS"));
        assert!(!processlist(Flavor::Mysql).contains("TIME_MS"));
        assert!(session_setup(Flavor::Mariadb).contains("max_statement_time"));
        assert!(session_setup(Flavor::Mysql).contains("max_execution_time"));
        assert!(lock_waits(LOCK_SOURCE_PS).is_some_and(|q| q.contains("data_lock_waits")));
        assert!(lock_waits(LOCK_SOURCE_IS).is_some_and(|q| q.contains("INNODB_LOCK_WAITS")));
        assert!(lock_waits("").is_none());
    }
}
