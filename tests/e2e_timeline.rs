//! End-to-end: the real binary in a pseudo-terminal against a real Redis Sentinel set and a
//! real PostgreSQL. A Redis master is killed and a session starts blocking another: both
//! appear on the overview's timeline strip with no key pressed, in order on the Timeline
//! pane and in the data dir's file; `y` writes the selected event with OSC 52; a console
//! started again over the same data dir shows them before any source answers.

mod e2e;
mod support;

use e2e::pty::{Console, write_config};
use sqlx::{Connection, Executor};
use support::{Postgres, RedisSentinel};

fn config(dir: &std::path::Path, set: &RedisSentinel, pg: &Postgres, db: &str) -> String {
    let sentinels: Vec<String> = set
        .sentinels
        .iter()
        .map(|s| format!("\"127.0.0.1:{}\"", s.port()))
        .collect();
    write_config(
        dir,
        &format!(
            "default_context = \"t\"\nrefresh = \"1s\"\naudit_log = \"{}\"\n\
             [contexts.t]\nhost = false\n\
             [[contexts.t.redis]]\nname = \"cache\"\nsentinels = [{}]\nmaster = \"{}\"\n\
             [[contexts.t.postgres]]\nname = \"app\"\nurl = \"{}\"\n",
            dir.join("audit.jsonl").display(),
            sentinels.join(", "),
            set.master_name(),
            pg.url_for(db)
        ),
    )
    .display()
    .to_string()
}

/// The text of the base64 payload of every OSC 52 sequence in `raw`.
fn osc52_payloads(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    text.split("\x1b]52;c;")
        .skip(1)
        .filter_map(|rest| rest.split('\x07').next())
        .map(decode)
        .collect()
}

fn decode(b64: &str) -> String {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let bytes: Vec<u8> = b64.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (val(*c) << (18 - 6 * i)));
        let len = chunk.len().saturating_sub(1);
        for i in 0..len {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_failover_and_a_blocking_session_reach_the_timeline_with_no_key_pressed() {
    let set = RedisSentinel::start();
    let pg = Postgres::start();
    let db = pg.create_database("timeline");
    pg.psql_db(
        &db,
        "create table accounts (id int primary key, balance int); insert into accounts values (7, 100)",
    );
    let dir = tempfile::tempdir().expect("dir");
    let data = tempfile::tempdir().expect("data dir");
    let cfg = config(dir.path(), &set, &pg, &db);
    let env = [("XDG_DATA_HOME", data.path())];
    let mut c = Console::start_with_env(&["--config", &cfg], 160, 60, &env);
    c.wait_for("7 Timeline");
    c.wait_for("cache ok");
    c.wait_for("app ok");

    // The master dies; the sentinels fail over. Nothing is pressed.
    let old = format!("127.0.0.1:{}", set.master.port());
    set.master.kill();
    c.wait_for(&format!("Sentinel switched mymaster from {old} to"));

    // A session takes a row lock and another waits behind it.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = pg.url_for(&db);
    let mut holder = rt.block_on(async {
        let mut h = sqlx::PgConnection::connect(&url).await.expect("holder");
        h.execute("begin; update accounts set balance = balance - 10 where id = 7")
            .await
            .expect("lock");
        h
    });
    let waiter = rt.spawn({
        let url = url.clone();
        async move {
            let mut w = sqlx::PgConnection::connect(&url).await.expect("waiter");
            w.execute("update accounts set balance = balance + 10 where id = 7")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    });
    c.wait_for("blocks 1 session: begin; update accounts set balance = balance - 10");

    // On the Timeline pane: newest first, so the blocking above the switch.
    c.send("7");
    c.send("\r");
    c.wait_for("7 Timeline — all sources");
    let screen = c.screen();
    let blocking = screen.find("blocks 1 session").expect("blocking");
    let switched = screen.find("Sentinel switched mymaster").expect("switch");
    assert!(blocking < switched, "not newest first:\n{screen}");
    // n: the timeline of one source (PostgreSQL first); its newest row is selected and y
    // puts it on the clipboard with OSC 52.
    c.send("n");
    c.wait_for("7 Timeline — postgres app");
    c.send("y");
    c.wait_for("copied the event");
    let copied = osc52_payloads(&c.raw());
    assert_eq!(copied.len(), 1, "{copied:?}");
    assert!(
        copied[0].contains(" postgres app: ") && copied[0].contains("block"),
        "the selected event, with where it happened: {copied:?}"
    );

    // The lock goes: that is on the timeline too.
    rt.block_on(async { holder.execute("rollback").await.expect("release") });
    assert!(rt.block_on(waiter).expect("join").is_ok());
    c.wait_for("no longer blocks anyone");

    // The file in the data dir has them, in time order.
    let file = data.path().join("opsdeck").join("timeline.jsonl");
    let text = std::fs::read_to_string(&file).expect("timeline file");
    let at = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {}:\n{text}", file.display()))
    };
    assert!(
        at("Sentinel switched mymaster") < at("blocks 1 session"),
        "{text}"
    );
    assert!(
        at("blocks 1 session") < at("no longer blocks anyone"),
        "{text}"
    );
    c.send("q");
    c.wait_exit();

    // A console opened afterwards shows what happened, before any source answers.
    set.sentinels.iter().for_each(|s| s.pause());
    pg.pause();
    let c = Console::start_with_env(&["--config", &cfg], 160, 60, &env);
    c.wait_for("no longer blocks anyone");
    set.sentinels.iter().for_each(|s| s.resume());
    pg.resume();
    drop(c);
}

#[test]
fn clipboard_false_writes_no_osc_52() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = write_config(dir.path(), "clipboard = false\n[contexts.t]\nhost = true\n");
    let mut c = Console::start(&["--config", cfg.to_str().expect("path")], 100, 30);
    c.wait_for("load ");
    c.send("6");
    c.send("\r");
    c.wait_for("Disks");
    c.send("y");
    c.wait_for("copy is off (clipboard = false in the config)");
    assert!(osc52_payloads(&c.raw()).is_empty());
    c.send("q");
    c.wait_exit();
}
