//! The console end to end in a pseudo-terminal: an alert fires, is acked with a note and
//! silenced; both survive a restart (same data dir). With Alertmanager configured, the
//! alert is pushed to it and Alertmanager's own alerts show in the inbox.

mod e2e;
mod support;

use std::time::Duration;

use e2e::pty::{Console, write_config};
use support::{Alertmanager, free_port, wait_until};

const KEY: &str = "source_unreachable/redis/cache/";

#[test]
fn ack_and_silence_survive_a_restart_and_alertmanager_works_both_ways() {
    let am = Alertmanager::start();
    am.post(&serde_json::json!([{
        "labels": {"alertname": "DiskWillFill", "severity": "warning"},
        "annotations": {"summary": "disk on db1 fills in 4h"}
    }]));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Nothing listens on this port: the Redis source is unreachable, a critical alert.
    let cfg = write_config(
        dir.path(),
        &format!(
            "default_context = \"t\"\n[alerts]\nalertmanager = \"{}\"\nalertmanager_interval = \"1s\"\n[contexts.t]\nhost = false\n[[contexts.t.redis]]\nname = \"cache\"\nurl = \"redis://127.0.0.1:{}\"\n",
            am.url(),
            free_port()
        ),
    );
    let cfg = cfg.display().to_string();
    let env = [("XDG_DATA_HOME", data.as_path())];

    let mut c = Console::start_with_env(&["--config", &cfg], 140, 40, &env);
    c.wait_for("CRIT redis cache unreachable");
    // Pulled from Alertmanager into the Alerts tile.
    c.wait_for("[am] disk on db1 fills in 4h");
    // Pushed to Alertmanager with its labels.
    wait_until(
        "opsdeck's alert in Alertmanager",
        Duration::from_secs(15),
        || {
            am.alerts()
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"]["alertname"] == "source_unreachable")
                .cloned()
        },
    );
    c.send("5");
    c.send("\r");
    c.wait_for("Inbox");
    c.wait_for("alertmanager");
    c.send(":ack paged the cache team\r");
    c.wait_for("acked at ");
    c.wait_for(": paged the cache team");
    c.send("s");
    c.wait_for("muted 59m");
    // Silenced: gone from the header.
    c.wait_for("ctx t  ");
    wait_until("the header to clear", Duration::from_secs(10), || {
        c.screen()
            .lines()
            .next()
            .unwrap_or("")
            .contains("no alerts")
            .then_some(())
    });
    c.send("q");
    assert!(c.wait_exit().success());

    let file = data.join("opsdeck").join("alerts.json");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["acks"][KEY]["note"], "paged the cache team");
    assert!(saved["silences"][KEY].is_string(), "{saved}");
    assert_eq!(saved["history"][0]["rule"], "source_unreachable");

    let mut c = Console::start_with_env(&["--config", &cfg], 140, 40, &env);
    c.send("5");
    c.send("\r");
    c.wait_for("acked at ");
    c.wait_for(": paged the cache team");
    c.wait_for("muted 59m");
    c.wait_for("acked at ");
    let screen = c.screen();
    assert!(
        screen.lines().next().unwrap().contains("no alerts"),
        "{screen}"
    );
    c.send("q");
    assert!(c.wait_exit().success());
}
