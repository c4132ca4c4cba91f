//! `opsdeck topics plan | apply | export`: the real binary against the real broker, each
//! result read back with Kafka's own kafka-topics tool. Topics are named with a unique prefix
//! (the broker is shared with other tests), so plans name only these tests' topics and
//! deletes and exports are scoped with `--prefix`.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::{shared_kafka, unique_name};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

struct Env {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Env {
    fn new(bootstrap: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        let kafka = |ctx: &str, name: &str| {
            format!("[[contexts.{ctx}.kafka]]\nname = \"{name}\"\nbrokers = \"{bootstrap}\"\n")
        };
        let text = format!(
            "default_context = \"t\"\naudit_log = \"{audit}\"\n\
             [contexts.t]\nhost = false\n{t}\
             [contexts.ro]\nreadonly = true\nhost = false\n{ro}\
             [contexts.prod]\nproduction = true\nhost = false\n{prod}\
             [contexts.two]\nhost = false\n{two_a}{two_b}",
            audit = dir.path().join("audit.jsonl").display(),
            t = kafka("t", "k"),
            ro = kafka("ro", "k"),
            prod = kafka("prod", "k"),
            two_a = kafka("two", "first"),
            two_b = kafka("two", "second"),
        );
        std::fs::write(&config, text).expect("config");
        Env { dir, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write topic file");
        p
    }

    /// Runs `opsdeck --config <cfg> <args>` with `stdin`: (exit code, stdout, stderr).
    fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .arg("--log-file")
            .arg(self.path("opsdeck.log"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run opsdeck");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `kafka-topics --describe` header line of `topic`, or None when it does not exist.
fn describe(topic: &str) -> Option<String> {
    let out = shared_kafka().tool(
        support::kafka::TOPIC_COMMAND,
        &["--describe", "--topic", topic],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with(&format!("Topic: {topic}\t")))
        .map(str::to_string)
}

/// (name, partitions, configs) of one declared topic.
type TopicDecl<'a> = (&'a str, usize, &'a [(&'a str, &'a str)]);

fn topic_file(entries: &[TopicDecl]) -> String {
    let mut s = String::new();
    for (name, partitions, configs) in entries {
        s.push_str(&format!(
            "[[topic]]\nname = \"{name}\"\npartitions = {partitions}\nreplication_factor = 1\n"
        ));
        if !configs.is_empty() {
            s.push_str("[topic.configs]\n");
            for (k, v) in *configs {
                s.push_str(&format!("\"{k}\" = \"{v}\"\n"));
            }
        }
        s.push('\n');
    }
    s
}

#[test]
fn create_alter_grow_idempotent_and_refusals() {
    let kafka = shared_kafka();
    let env = Env::new(&kafka.bootstrap());
    let a = unique_name("tp_orders");
    let b = unique_name("tp_audit");
    let file = env.write(
        "topics.toml",
        &topic_file(&[(&a, 3, &[("retention.ms", "3600000")]), (&b, 1, &[])]),
    );
    let f = p(&file);

    // Pending creates: exit 1 (as `diff` has it), nothing changed.
    let (code, out, err) = env.run(&["topics", "plan", f], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "+ create topic {a}: 3 partitions, replication factor 1\n      retention.ms = 3600000\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("Plan: 2 to create, 0 to grow, 0 to alter, 0 to delete"),
        "{out}"
    );
    assert_eq!(describe(&a), None);

    // JSON for automation: the same changes, typed.
    let (code, out, err) = env.run(&["topics", "plan", "--output", "json", f], "");
    assert_eq!(code, 1, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("plan JSON");
    assert_eq!(doc["changes"][0]["change"], "create", "{doc}");
    assert_eq!(doc["changes"][0]["topic"], a.as_str(), "{doc}");
    assert_eq!(
        doc["changes"][0]["configs"]["retention.ms"], "3600000",
        "{doc}"
    );
    assert_eq!(doc["changes"].as_array().map(Vec::len), Some(2), "{doc}");

    // Anything but `yes` aborts: the changes are still pending (1).
    let (code, out, err) = env.run(&["topics", "apply", f], "no\n");
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("type yes to confirm"), "{out}");
    assert!(out.contains("aborted: confirmation not given"), "{out}");
    assert_eq!(describe(&a), None);
    assert!(env.audit().is_empty());

    // Typed yes applies, verifies, and audits each change.
    let (code, out, err) = env.run(&["topics", "apply", f], "yes\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Applied 2 changes; the cluster matches the files."),
        "{out}"
    );
    let d = describe(&a).expect("created");
    assert!(
        d.contains("PartitionCount: 3") && d.contains("retention.ms=3600000"),
        "{d}"
    );
    assert!(describe(&b).expect("created").contains("PartitionCount: 1"));
    let audit = env.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|e| e["outcome"] == "ok" && e["context"] == "t"),
        "{audit:?}"
    );
    assert_eq!(audit[0]["parameters"]["op"], "create_topic");
    assert_eq!(audit[0]["target"], a.as_str());

    // Idempotent: the second plan is empty.
    let (code, out, err) = env.run(&["topics", "plan", f], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("No changes: 2 declared topics in sync."),
        "{out}"
    );

    // Grow and alter: old → new, including a value inherited from the defaults.
    env.write(
        "topics.toml",
        &topic_file(&[
            (
                &a,
                5,
                &[("retention.ms", "7200000"), ("max.message.bytes", "200000")],
            ),
            (&b, 1, &[]),
        ]),
    );
    let (code, out, err) = env.run(&["topics", "plan", f], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("~ grow topic {a}: partitions 3 → 5")),
        "{out}"
    );
    assert!(
        out.contains("      retention.ms: 3600000 → 7200000\n"),
        "{out}"
    );
    assert!(
        out.contains("      max.message.bytes: 1048588 (default) → 200000\n"),
        "{out}"
    );
    let (code, out, err) = env.run(&["topics", "apply", "--yes", f], "");
    assert_eq!(code, 0, "{out}{err}");
    let d = describe(&a).expect("topic");
    assert!(d.contains("PartitionCount: 5"), "{d}");
    assert!(
        d.contains("retention.ms=7200000") && d.contains("max.message.bytes=200000"),
        "{d}"
    );
    assert_eq!(env.audit().len(), 4);
    let (code, out, _) = env.run(&["topics", "plan", f], "");
    assert_eq!(code, 0, "{out}");

    // A decrease and a replication-factor change are refused: exit 2, nothing applied.
    env.write(
        "topics.toml",
        &(topic_file(&[(&a, 2, &[("retention.ms", "1000")]), (&b, 1, &[])])
            + &format!("[[topic]]\nname = \"{b}_rf\"\npartitions = 1\n")),
    );
    let (code, out, err) = env.run(&["topics", "plan", f], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!(
            "! topic {a} ({f}:2): partitions 5 → 2 refused: Kafka cannot remove partitions"
        )),
        "{out}"
    );
    // The refused topic's other changes are not planned; other topics' are.
    assert!(!out.contains("retention.ms: 7200000 → 1000"), "{out}");
    assert!(out.contains(&format!("+ create topic {b}_rf")), "{out}");
    let (code, out, err) = env.run(&["topics", "apply", "--yes", f], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("refused changes; nothing applied"), "{err}");
    assert!(describe(&a).expect("topic").contains("PartitionCount: 5"));
    assert_eq!(describe(&format!("{b}_rf")), None);

    let rf = env.write(
        "rf.toml",
        &topic_file(&[(&b, 1, &[])]).replace("replication_factor = 1", "replication_factor = 3"),
    );
    let (code, out, _) = env.run(&["topics", "plan", p(&rf)], "");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("replication factor 1 → 3 not supported"),
        "{out}"
    );
    assert!(out.contains("kafka-reassign-partitions"), "{out}");
}

#[test]
fn export_reads_back_in_sync_and_deletes_need_allow_delete() {
    let kafka = shared_kafka();
    let env = Env::new(&kafka.bootstrap());
    let prefix = unique_name("tpx");
    let (x, y) = (format!("{prefix}.x"), format!("{prefix}.y"));
    let file = env.write(
        "seed.toml",
        &topic_file(&[
            (
                &x,
                2,
                &[("cleanup.policy", "compact"), ("segment.ms", "600000")],
            ),
            (&y, 1, &[]),
        ]),
    );
    let (code, out, err) = env.run(&["topics", "apply", "--yes", p(&file)], "");
    assert_eq!(code, 0, "{out}{err}");

    // To stdout: only this prefix, only configs set on the topic.
    let (code, out, err) = env.run(&["topics", "export", "--prefix", &prefix], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("name = \"{x}\"")) && out.contains(&format!("name = \"{y}\"")),
        "{out}"
    );
    assert!(out.contains("\"cleanup.policy\" = \"compact\""), "{out}");
    assert!(
        !out.contains("retention.ms") && !out.contains("__consumer_offsets"),
        "{out}"
    );
    assert_eq!(out.matches("[[topic]]").count(), 2, "{out}");

    // To a directory, read back by plan as in sync.
    let dir = env.path("exported");
    let (code, out, err) = env.run(
        &["topics", "export", "--prefix", &prefix, "--output", p(&dir)],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(dir.join(format!("{x}.toml")).is_file() && dir.join(format!("{y}.toml")).is_file());
    let (code, out, err) = env.run(&["topics", "plan", p(&dir)], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("No changes: 2 declared topics in sync."),
        "{out}"
    );
    // No silent overwrite.
    let (code, _, err) = env.run(
        &["topics", "export", "--prefix", &prefix, "--output", p(&dir)],
        "",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );

    // y is no longer declared: deleted only with --allow-delete (scoped by --prefix).
    std::fs::remove_file(dir.join(format!("{y}.toml"))).expect("rm");
    let (code, out, _) = env.run(&["topics", "plan", p(&dir)], "");
    assert_eq!(code, 0, "{out}");
    let args = [
        "topics",
        "plan",
        p(&dir),
        "--allow-delete",
        "--prefix",
        &prefix,
    ];
    let (code, out, _) = env.run(&args, "");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("- delete topic {y} (1 partition, all its data)")),
        "{out}"
    );
    assert_eq!(out.matches("- delete topic").count(), 1, "{out}");
    // Deleting needs `delete` typed, not `yes`.
    let args = [
        "topics",
        "apply",
        p(&dir),
        "--allow-delete",
        "--prefix",
        &prefix,
    ];
    let (code, out, _) = env.run(&args, "yes\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 topics and their data will be deleted: type delete"),
        "{out}"
    );
    assert!(describe(&y).is_some());
    let (code, out, err) = env.run(&args, "delete\n");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(describe(&y), None);
    assert!(describe(&x).is_some());
    let last = env.audit().pop().expect("audit");
    assert_eq!(last["parameters"]["op"], "delete_topic");
    assert_eq!(last["target"], y.as_str());
}

#[test]
fn readonly_production_and_cluster_choice() {
    let kafka = shared_kafka();
    let env = Env::new(&kafka.bootstrap());
    let t = unique_name("tp_guard");
    let file = env.write("g.toml", &topic_file(&[(&t, 1, &[])]));
    let f = p(&file);

    let (code, out, err) = env.run(&["--readonly", "topics", "apply", "--yes", f], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("read-only mode (--readonly)") && err.contains("nothing applied"),
        "{err}"
    );
    assert!(
        out.contains(&format!("+ create topic {t}")),
        "the refused plan is shown: {out}"
    );
    // Refusals are audited, one entry per change the apply would have made.
    let audit = env.audit();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["outcome"], "refused");
    assert_eq!(audit[0]["target"], t.as_str());
    assert_eq!(audit[0]["parameters"]["op"], "create_topic");
    assert!(
        audit[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("read-only mode (--readonly)")),
        "{audit:?}"
    );
    let (code, _, err) = env.run(&["--context", "ro", "topics", "apply", "--yes", f], "");
    assert_eq!(code, 2);
    assert!(err.contains("context ro is read-only"), "{err}");
    assert_eq!(env.audit().len(), 2);
    assert_eq!(env.audit()[1]["context"], "ro");
    assert_eq!(describe(&t), None, "nothing was created");
    // Plan is read-only and allowed there.
    let (code, out, _) = env.run(&["--context", "ro", "topics", "plan", f], "");
    assert_eq!(code, 1, "{out}");

    // Production: `yes` is not enough, the context name must be typed.
    let (code, out, _) = env.run(&["--context", "prod", "topics", "apply", f], "yes\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("context prod is production: type its name"),
        "{out}"
    );
    assert_eq!(describe(&t), None);
    let (code, out, err) = env.run(&["--context", "prod", "topics", "apply", f], "prod\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(describe(&t).is_some());
    assert_eq!(env.audit()[2]["context"], "prod");
    assert_eq!(env.audit()[2]["outcome"], "ok");

    // Several kafka entries: --kafka picks one.
    let (code, _, err) = env.run(&["--context", "two", "topics", "plan", f], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("context two has 2 kafka entries (first, second)")
            && err.contains("--kafka NAME"),
        "{err}"
    );
    let (code, out, err) = env.run(
        &["--context", "two", "topics", "plan", "--kafka", "second", f],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("kafka second ("), "{out}");
    let (code, _, err) = env.run(
        &["--context", "two", "topics", "plan", "--kafka", "third", f],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("no kafka entry named \"third\""), "{err}");
}

#[test]
fn bad_files_name_file_and_line() {
    // Files are checked before any cluster is contacted: no broker needed.
    let env = Env::new("127.0.0.1:1");
    let fx = |n: &str| format!("{}/tests/fixtures/topics/{n}", env!("CARGO_MANIFEST_DIR"));
    let cases = [
        (
            vec![fx("unknown_key.toml")],
            "unknown_key.toml:4:1: unknown field `partition`",
        ),
        (
            vec![fx("negative_partitions.toml")],
            "negative_partitions.toml:7:14: topic payments: partitions = -1; it must be at least 1",
        ),
        (
            vec![fx("bad_type.toml")],
            "bad_type.toml:3:14: invalid type: string \"three\", expected i64",
        ),
        (
            vec![fx("dup_a.toml"), fx("dup_b.toml")],
            "dup_b.toml:6:1: topic orders is declared twice\n  hint: it is first declared at",
        ),
    ];
    for (files, want) in cases {
        let mut args = vec!["topics", "plan"];
        args.extend(files.iter().map(String::as_str));
        let (code, out, err) = env.run(&args, "");
        assert_eq!(code, 2, "{files:?}: {out}{err}");
        assert!(err.contains(want), "{files:?}: want {want:?} in:\n{err}");
        assert!(out.is_empty(), "{out}");
    }
    // Usage errors exit 2 too, as every bad input (1 means "changes pending").
    let (code, _, err) = env.run(&["topics", "plan", "--prefix", "x", &fx("dup_a.toml")], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--allow-delete"), "{err}");
    let (code, _, err) = env.run(&["topics", "plan"], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("<PATH>"), "{err}");
    let (code, _, err) = env.run(&["topics", "plan", "/nonexistent/topics.toml"], "");
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/topics.toml: cannot read"),
        "{err}"
    );
    // Every problem of a file in one run, in file order.
    let three = env.write(
        "three.toml",
        "[[topic]]\nname = \"a\"\npartitions = 1\nretention = 5\n[[topic]]\nname = \"b\"\npartitions = \"six\"\n[[topic]]\nname = \"c\"\npartitions = 0\n",
    );
    let (code, _, err) = env.run(&["topics", "plan", p(&three)], "");
    assert_eq!(code, 2, "{err}");
    let f = p(&three);
    for w in [
        format!("error: {f}:4:1: unknown field `retention`"),
        format!("error: {f}:7:14: invalid type: string \"six\""),
        format!("error: {f}:10:14: topic c: partitions = 0"),
    ] {
        assert!(err.contains(&w), "want {w} in:\n{err}");
    }
    assert_eq!(err.matches("error: ").count(), 3, "{err}");
    // A bad theme, keymap or config is bad input here too: 2, as for every command.
    let (code, _, err) = env.run(&["--theme", "nope", "topics", "plan", f], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: --theme: unknown theme \"nope\""),
        "{err}"
    );
    let bad = env.write("bad-config.toml", "[contexts.t]\nreadonyl = true\n");
    let out = Command::new(BIN)
        .args(["--config", p(&bad), "topics", "plan", f])
        .output()
        .expect("run opsdeck");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("bad-config.toml:2:1: unknown field `readonyl`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plan_fails_on_what_the_broker_would_refuse() {
    let kafka = shared_kafka();
    let env = Env::new(&kafka.bootstrap());
    let ok = unique_name("tp_valid");
    let file = env.write("ok.toml", &topic_file(&[(&ok, 1, &[])]));
    let (code, out, err) = env.run(&["topics", "apply", "--yes", p(&file)], "");
    assert_eq!(code, 0, "{out}{err}");

    let bad = unique_name("tp_invalid");
    let too_many = unique_name("tp_rf3");
    let text =
        topic_file(&[
            (&bad, 1, &[("cleanup.policy", "shred")]),
            (&ok, 1, &[("retention.msx", "5")]),
        ]) + &format!("[[topic]]\nname = \"{too_many}\"\npartitions = 1\nreplication_factor = 3\n");
    let file = env.write("bad.toml", &text);
    let (code, out, err) = env.run(&["topics", "plan", p(&file)], "");
    assert_eq!(code, 2, "{out}{err}");
    for t in [&bad, &ok, &too_many] {
        assert!(
            out.contains(&format!("! topic {t} ("))
                && out.lines().any(|l| l.starts_with(&format!("! topic {t} ("))
                    && l.contains("refused by the broker's validation")),
            "{t}: {out}"
        );
    }
    assert!(
        !out.contains("+ create") && !out.contains("~ alter"),
        "{out}"
    );
    assert!(out.contains("3 refused"), "{out}");
    // Validation changed nothing.
    assert_eq!(describe(&bad), None);
    assert_eq!(describe(&too_many), None);
}
