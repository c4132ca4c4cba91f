//! Apache Kafka 4.x in KRaft mode, run from jars resolved from Maven Central by
//! `scripts/fetch-kafka-libs` (cached in ~/.cache/opsdeck-test/kafka-<ver>/libs).
//!
//! Every node is a combined broker+controller with a static voter set
//! (`controller.quorum.voters`), so storage is formatted without --standalone. A 3-node
//! cluster keeps a controller quorum (2 of 3) when one node is killed.

use super::process::{ProcessSpec, ServerProcess, TestDir, free_port, run_tool};
use super::require_program;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// Consumer groups tool (`kafka-consumer-groups.sh`).
pub const CONSUMER_GROUP_COMMAND: &str =
    "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
/// Topics tool (`kafka-topics.sh`).
pub const TOPIC_COMMAND: &str = "org.apache.kafka.tools.TopicCommand";
/// `kafka-producer-perf-test.sh`.
pub const PRODUCER_PERFORMANCE: &str = "org.apache.kafka.tools.ProducerPerformance";
/// `kafka-console-producer.sh`.
pub const CONSOLE_PRODUCER: &str = "org.apache.kafka.tools.ConsoleProducer";
/// `kafka-console-consumer.sh`.
pub const CONSOLE_CONSUMER: &str = "org.apache.kafka.tools.consumer.ConsoleConsumer";
/// `kafka-storage.sh`.
pub const STORAGE_TOOL: &str = "kafka.tools.StorageTool";
/// The broker's main class.
pub const KAFKA_MAIN: &str = "kafka.Kafka";

const SERVER_JVM: &[&str] = &[
    "-Xmx384m",
    "-Xms128m",
    "-Xss512k",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
];
const TOOL_JVM: &[&str] = &[
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
];

/// The dir holding Kafka's jars: `$OPSDECK_KAFKA_LIBS`, else whatever
/// `scripts/fetch-kafka-libs` prints (it fetches into the cache on first use).
pub fn kafka_libs() -> PathBuf {
    static LIBS: OnceLock<PathBuf> = OnceLock::new();
    LIBS.get_or_init(|| {
        if let Some(d) = std::env::var_os("OPSDECK_KAFKA_LIBS") {
            let d = PathBuf::from(d);
            if has_kafka_jar(&d) {
                return d;
            }
            panic!(
                "OPSDECK_KAFKA_LIBS={} holds no kafka_2.13-*.jar. Unset it or run scripts/test.",
                d.display()
            );
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-kafka-libs");
        let out = run_tool(Command::new(&script));
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !out.status.success() || !has_kafka_jar(&dir) {
            panic!(
                "could not get Kafka's jars with {} ({}):\n{}\nRun `scripts/test` once (it \
                 installs Java 17 and Maven and fetches the jars).",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
    .clone()
}

fn has_kafka_jar(dir: &Path) -> bool {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("kafka_2.13-"))
}

fn java() -> PathBuf {
    match std::env::var_os("OPSDECK_JAVA") {
        Some(j) => PathBuf::from(j),
        None => require_program("java", "openjdk-17-jre-headless"),
    }
}

fn classpath() -> String {
    format!("{}/*", kafka_libs().display())
}

/// A log4j2 config for the CLI tools: warnings to stderr only.
fn tools_log4j() -> PathBuf {
    static CONF: OnceLock<(TestDir, PathBuf)> = OnceLock::new();
    CONF.get_or_init(|| {
        let dir = TestDir::new("kafka-tools");
        let p = dir.path().join("log4j2.properties");
        fs::write(
            &p,
            "status = error\n\
             appender.err.type = Console\nappender.err.name = err\nappender.err.target = SYSTEM_ERR\n\
             appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = %p %m (%c)%n\n\
             rootLogger.level = WARN\nrootLogger.appenderRef.err.ref = err\n",
        )
        .expect("write tools log4j2 config");
        (dir, p)
    })
    .1
    .clone()
}

/// Runs one of Kafka's own tools (same jars as the broker) to completion, e.g.
/// `kafka_tool(CONSUMER_GROUP_COMMAND, &["--bootstrap-server", b, "--describe", "--group", g])`.
pub fn kafka_tool(class: &str, args: &[&str]) -> Output {
    let mut c = Command::new(java());
    c.args(TOOL_JVM)
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            tools_log4j().display()
        ))
        .arg("-cp")
        .arg(classpath())
        .arg(class)
        .args(args);
    run_tool(c)
}

/// [`kafka_tool`], panicking unless it exits 0; returns stdout.
pub fn kafka_tool_ok(class: &str, args: &[&str]) -> String {
    let out = kafka_tool(class, args);
    if !out.status.success() {
        panic!(
            "{class} {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Broker ids that `bootstrap` reports in its metadata (rdkafka, 2 s timeout).
pub fn broker_ids(bootstrap: &str) -> Result<Vec<i32>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "opsdeck-harness-probe")
        .set("socket.timeout.ms", "2000")
        .create()
        .map_err(|e| e.to_string())?;
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    let mut ids: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
    ids.sort();
    Ok(ids)
}

fn random_cluster_id() -> String {
    // 16 random bytes, base64url without padding: what `kafka-storage.sh random-uuid` prints.
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    // An id starting with '-' is read as an option by kafka-storage's argument parser (Kafka's
    // own random-uuid never starts with one): keep the first character a letter.
    bytes[0] &= 0x7f;
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut s = String::new();
    for b in bytes {
        bits = (bits << 8) | b as u32;
        n += 8;
        while n >= 6 {
            n -= 6;
            s.push(A[((bits >> n) & 63) as usize] as char);
        }
    }
    if n > 0 {
        s.push(A[((bits << (6 - n)) & 63) as usize] as char);
    }
    s
}

/// One Kafka node (combined broker + controller). `Deref`s to its [`ServerProcess`].
pub struct KafkaNode {
    process: ServerProcess,
    id: i32,
    port: u16,
    controller_port: u16,
    /// The extra listeners of `Kafka::start_secure`.
    secure: Option<SecurePorts>,
    dir: PathBuf,
}

/// Ports of the SASL_PLAINTEXT, SSL and SASL_SSL listeners (`Kafka::start_secure`).
#[derive(Debug, Clone, Copy)]
pub struct SecurePorts {
    pub sasl_plaintext: u16,
    pub ssl: u16,
    pub sasl_ssl: u16,
}

impl Deref for KafkaNode {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl KafkaNode {
    pub fn id(&self) -> i32 {
        self.id
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn controller_port(&self) -> u16 {
        self.controller_port
    }
    pub fn secure_ports(&self) -> Option<SecurePorts> {
        self.secure
    }
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

struct NodePlan {
    id: i32,
    port: u16,
    controller_port: u16,
    secure: Option<SecurePorts>,
    dir: PathBuf,
}

/// The SASL user of `Kafka::start_secure` (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512).
pub const SASL_USER: &str = "alice";
pub const SASL_PASSWORD: &str = "alice-secret";

/// Starts `n` combined nodes with replication factor `rf` and `min.insync.replicas`.
fn start_nodes(root: &TestDir, n: usize, rf: usize, min_isr: usize) -> Vec<KafkaNode> {
    start_nodes_with(root, n, rf, min_isr, NodeOptions::default())
}

/// What a node has beyond the plain PLAINTEXT broker the tests use.
#[derive(Debug, Clone, Copy, Default)]
struct NodeOptions {
    /// SASL_PLAINTEXT, SSL and SASL_SSL listeners (`Kafka::start_secure`).
    secure: bool,
    /// `kafka.request.logger` at DEBUG into `requests.log`, each line prefixed by its time in
    /// Unix milliseconds (`Kafka::start_logging_requests`):
    /// for load benches only, tests keep the quiet config.
    request_log: bool,
}

/// The request log's name in a node's dir.
const REQUEST_LOG: &str = "requests.log";

/// The broker's log4j2 config: INFO to `server.log`; with `request_log`, one "Completed
/// request" line per request (API key, client id, connection, timings) to `requests.log`
/// only, so the server log stays readable. `requests_on` false sets that logger to INFO
/// (it logs nothing then); such a broker re-reads the file every second
/// (`monitorInterval`), so `Kafka::log_requests` can turn it off and on while it runs.
fn broker_log4j(server_log: &Path, request_log: Option<&Path>, requests_on: bool) -> String {
    let mut s = format!(
        "status = error\n\
         appender.file.type = File\nappender.file.name = file\n\
         appender.file.fileName = {}\n\
         appender.file.layout.type = PatternLayout\n\
         appender.file.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = INFO\nrootLogger.appenderRef.file.ref = file\n\
         logger.kafka.name = org.apache.kafka\nlogger.kafka.level = INFO\n",
        server_log.display()
    );
    if let Some(r) = request_log {
        s += &format!(
            "monitorInterval = 1\n\
             appender.requests.type = File\nappender.requests.name = requests\n\
             appender.requests.fileName = {}\n\
             appender.requests.layout.type = PatternLayout\n\
             appender.requests.layout.pattern = %d{{UNIX_MILLIS}} %m%n\n\
             logger.requests.name = kafka.request.logger\nlogger.requests.level = {}\n\
             logger.requests.additivity = false\n\
             logger.requests.appenderRef.requests.ref = requests\n",
            r.display(),
            if requests_on { "DEBUG" } else { "INFO" }
        );
    }
    s
}

/// The SASL listeners' settings: PLAIN and SCRAM for `SASL_USER`, OAUTHBEARER with Kafka's
/// unsecured (test-only) token validation; the TLS listeners' PEM key and certificate.
fn secure_properties(dir: &Path) -> String {
    let jaas = |mech: &str, module: &str, opts: &str| {
        ["sasl_plaintext", "sasl_ssl"]
            .iter()
            .map(|l| {
                format!(
                    "listener.name.{l}.{mech}.sasl.jaas.config=\
                     org.apache.kafka.common.security.{module} required{opts};\n"
                )
            })
            .collect::<String>()
    };
    let mut s =
        String::from("sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER\n");
    s += &jaas(
        "plain",
        "plain.PlainLoginModule",
        &format!(" user_{SASL_USER}=\"{SASL_PASSWORD}\""),
    );
    s += &jaas("scram-sha-256", "scram.ScramLoginModule", "");
    s += &jaas("scram-sha-512", "scram.ScramLoginModule", "");
    s += &jaas(
        "oauthbearer",
        "oauthbearer.OAuthBearerLoginModule",
        " unsecuredLoginStringClaim_sub=\"admin\"",
    );
    for l in ["ssl", "sasl_ssl"] {
        s += &format!(
            "listener.name.{l}.ssl.keystore.type=PEM\n\
             listener.name.{l}.ssl.keystore.location={}\n",
            dir.join("server.pem").display()
        );
    }
    s
}

/// A throw-away CA (`ca.pem`) and a server key and certificate for 127.0.0.1 and localhost
/// signed by it (`server.pem`: key then certificate, as Kafka's PEM key store reads it).
fn make_certificates(dir: &Path) {
    let openssl = require_program("openssl", "openssl");
    let run = |args: &[&str]| {
        let mut c = Command::new(&openssl);
        c.current_dir(dir).args(args);
        let out = run_tool(c);
        assert!(
            out.status.success(),
            "openssl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3",
        "-subj",
        "/CN=opsdeck test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write san.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    let pem = [
        fs::read_to_string(dir.join("server.key")).expect("server.key"),
        fs::read_to_string(dir.join("server.crt")).expect("server.crt"),
    ]
    .concat();
    fs::write(dir.join("server.pem"), pem).expect("write server.pem");
}

fn start_nodes_with(
    root: &TestDir,
    n: usize,
    rf: usize,
    min_isr: usize,
    opts: NodeOptions,
) -> Vec<KafkaNode> {
    let libs = kafka_libs();
    let java = java();
    let plans: Vec<NodePlan> = (1..=n as i32)
        .map(|id| NodePlan {
            id,
            port: free_port(),
            controller_port: free_port(),
            secure: opts.secure.then(|| SecurePorts {
                sasl_plaintext: free_port(),
                ssl: free_port(),
                sasl_ssl: free_port(),
            }),
            dir: root.sub(&format!("node{id}")),
        })
        .collect();
    let voters = plans
        .iter()
        .map(|p| format!("{}@127.0.0.1:{}", p.id, p.controller_port))
        .collect::<Vec<_>>()
        .join(",");
    let cluster_id = random_cluster_id();
    let mut nodes = Vec::new();
    for p in plans {
        let props = p.dir.join("server.properties");
        let log4j = p.dir.join("log4j2.properties");
        let server_log = p.dir.join("server.log");
        let (sasl_listener, sasl_props) = match p.secure {
            Some(sp) => {
                fs::create_dir_all(&p.dir).expect("node dir");
                make_certificates(&p.dir);
                (
                    format!(
                        ",SASL_PLAINTEXT://127.0.0.1:{},SSL://127.0.0.1:{},SASL_SSL://127.0.0.1:{}",
                        sp.sasl_plaintext, sp.ssl, sp.sasl_ssl
                    ),
                    secure_properties(&p.dir),
                )
            }
            None => (String::new(), String::new()),
        };
        fs::write(
            &props,
            format!(
                "process.roles=broker,controller\n\
                 node.id={id}\n\
                 controller.quorum.voters={voters}\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}{sasl_listener}\n\
                 advertised.listeners=PLAINTEXT://127.0.0.1:{port}{sasl_listener}\n\
                 controller.listener.names=CONTROLLER\n\
                 inter.broker.listener.name=PLAINTEXT\n\
                 listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL\n\
                 {sasl_props}\
                 log.dirs={data}\n\
                 num.partitions=1\n\
                 default.replication.factor={rf}\n\
                 min.insync.replicas={min_isr}\n\
                 offsets.topic.replication.factor={rf}\n\
                 offsets.topic.num.partitions=4\n\
                 transaction.state.log.replication.factor={rf}\n\
                 transaction.state.log.min.isr={min_isr}\n\
                 transaction.state.log.num.partitions=4\n\
                 share.coordinator.state.topic.replication.factor={rf}\n\
                 share.coordinator.state.topic.min.isr={min_isr}\n\
                 share.coordinator.state.topic.num.partitions=4\n\
                 group.initial.rebalance.delay.ms=0\n\
                 auto.create.topics.enable=true\n\
                 num.network.threads=2\n\
                 num.io.threads=2\n\
                 num.recovery.threads.per.data.dir=1\n\
                 background.threads=2\n\
                 broker.heartbeat.interval.ms=500\n\
                 broker.session.timeout.ms=3000\n",
                id = p.id,
                port = p.port,
                cport = p.controller_port,
                data = p.dir.join("data").display(),
            ),
        )
        .expect("write server.properties");
        let request_log = opts.request_log.then(|| p.dir.join(REQUEST_LOG));
        fs::write(
            &log4j,
            broker_log4j(&server_log, request_log.as_deref(), true),
        )
        .expect("write log4j2.properties");

        // Format storage (kafka-storage.sh format).
        let mut fmt = Command::new(&java);
        fmt.args(TOOL_JVM)
            .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
            .arg("-cp")
            .arg(format!("{}/*", libs.display()))
            .arg(STORAGE_TOOL)
            .args(["format", "-t", &cluster_id, "-c"])
            .arg(&props);
        if p.secure.is_some() {
            for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
                fmt.arg("--add-scram").arg(format!(
                    "{mech}=[name={SASL_USER},password={SASL_PASSWORD}]"
                ));
            }
        }
        let out = run_tool(fmt);
        if !out.status.success() {
            panic!(
                "Kafka storage format failed for node {}:\n{}\n{}",
                p.id,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let java2 = java.clone();
        let cp = format!("{}/*", libs.display());
        let props2 = props.clone();
        let log_dir = p.dir.clone();
        let bootstrap = format!("127.0.0.1:{}", p.port);
        let id = p.id;
        let process = ServerProcess::spawn_only(ProcessSpec {
            name: format!("kafka-node{}:{}", p.id, p.port),
            command: Box::new(move || {
                let mut c = Command::new(&java2);
                c.args(SERVER_JVM)
                    .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
                    .arg(format!("-Dkafka.logs.dir={}", log_dir.display()))
                    .arg("-cp")
                    .arg(&cp)
                    .arg(KAFKA_MAIN)
                    .arg(&props2);
                c
            }),
            ready: Box::new(move || {
                let ids = broker_ids(&bootstrap)?;
                if ids.contains(&id) {
                    Ok(())
                } else {
                    Err(format!("metadata lists brokers {ids:?}, not yet {id}"))
                }
            }),
            stdout_log: p.dir.join("stdout.log"),
            extra_logs: vec![server_log],
            stop_signal: libc::SIGTERM,
            start_timeout: Duration::from_secs(120),
            stop_timeout: Duration::from_secs(30),
            retry_early_exit: false,
        });
        nodes.push(KafkaNode {
            process,
            id: p.id,
            port: p.port,
            controller_port: p.controller_port,
            secure: p.secure,
            dir: p.dir,
        });
    }
    for node in &nodes {
        node.wait_ready();
    }
    nodes
}

/// Creates a topic through rdkafka's admin API and waits for it (panics on failure).
pub fn create_topic(bootstrap: &str, name: &str, partitions: i32, replication: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let res = futures::executor::block_on(admin.create_topics([&topic], &opts))
        .unwrap_or_else(|e| panic!("create topic {name}: {e}"));
    for r in res {
        if let Err((t, e)) = r {
            panic!("create topic {t}: {e}");
        }
    }
}

/// A single Kafka broker (+ controller), replication factor 1. `Deref`s to its
/// [`ServerProcess`] for `stop/kill/pause/resume/restart`.
pub struct Kafka {
    node: KafkaNode,
    _dir: TestDir,
}

impl Deref for Kafka {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.node.process
    }
}

impl Kafka {
    /// Starts a fresh broker of its own (~3-5 s). Prefer [`shared_kafka`] unless the test
    /// stops, kills or pauses it.
    pub fn start() -> Kafka {
        let dir = TestDir::new("kafka");
        let mut nodes = start_nodes(&dir, 1, 1, 1);
        Kafka {
            node: nodes.remove(0),
            _dir: dir,
        }
    }

    /// A broker with SASL_PLAINTEXT, SSL and SASL_SSL listeners too: PLAIN and
    /// SCRAM-SHA-256/512 for `SASL_USER`/`SASL_PASSWORD`, OAUTHBEARER with unsecured tokens,
    /// TLS with a certificate for 127.0.0.1 from a CA made for it (`ca_file`). The PLAINTEXT
    /// listener stays for the tools and the readiness check.
    pub fn start_secure() -> Kafka {
        let dir = TestDir::new("kafka-secure");
        let opts = NodeOptions {
            secure: true,
            ..NodeOptions::default()
        };
        let mut nodes = start_nodes_with(&dir, 1, 1, 1, opts);
        Kafka {
            node: nodes.remove(0),
            _dir: dir,
        }
    }

    /// A plain broker that also logs every request it completes (`kafka.request.logger` at
    /// DEBUG) to [`Kafka::request_log`]: one "<unix ms> Completed request:{json}" line each,
    /// with the API key, client id, connection, timings and the request and response bodies. For load benches: the log grows with
    /// every request and its JSON costs the broker a little per request.
    pub fn start_logging_requests() -> Kafka {
        let dir = TestDir::new("kafka-requests");
        let opts = NodeOptions {
            request_log: true,
            ..NodeOptions::default()
        };
        let mut nodes = start_nodes_with(&dir, 1, 1, 1, opts);
        Kafka {
            node: nodes.remove(0),
            _dir: dir,
        }
    }

    /// Turns a [`Kafka::start_logging_requests`] broker's request log off or on while it
    /// runs (its log4j2 config is rewritten; the broker re-reads it within about a second,
    /// so wait a little and check the log, as a bench measuring without it must).
    pub fn log_requests(&self, on: bool) {
        let dir = &self.node.dir;
        let request_log = dir.join(REQUEST_LOG);
        fs::write(
            dir.join("log4j2.properties"),
            broker_log4j(&dir.join("server.log"), Some(&request_log), on),
        )
        .expect("rewrite log4j2.properties");
    }

    /// The request log of a [`Kafka::start_logging_requests`] broker (empty file or absent
    /// on other brokers).
    pub fn request_log(&self) -> PathBuf {
        self.node.dir.join(REQUEST_LOG)
    }

    /// The extra listeners' ports (only on `start_secure` brokers).
    pub fn secure_ports(&self) -> SecurePorts {
        self.node.secure.expect("a broker from Kafka::start_secure")
    }

    /// The CA that signed a `start_secure` broker's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.node.dir.join("ca.pem")
    }

    pub fn bootstrap(&self) -> String {
        self.node.bootstrap()
    }

    pub fn port(&self) -> u16 {
        self.node.port
    }

    pub fn node(&self) -> &KafkaNode {
        &self.node
    }

    /// Runs a Kafka tool with `--bootstrap-server <this>` prepended to `args`.
    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        let b = self.bootstrap();
        let mut all = vec!["--bootstrap-server", b.as_str()];
        all.extend_from_slice(args);
        kafka_tool(class, &all)
    }

    /// `kafka-consumer-groups.sh --bootstrap-server <this> <args>`; stdout, panics on failure.
    pub fn consumer_groups(&self, args: &[&str]) -> String {
        let b = self.bootstrap();
        let mut all = vec!["--bootstrap-server", b.as_str()];
        all.extend_from_slice(args);
        kafka_tool_ok(CONSUMER_GROUP_COMMAND, &all)
    }

    /// `kafka-topics.sh --bootstrap-server <this> <args>`; stdout, panics on failure.
    pub fn topics(&self, args: &[&str]) -> String {
        let b = self.bootstrap();
        let mut all = vec!["--bootstrap-server", b.as_str()];
        all.extend_from_slice(args);
        kafka_tool_ok(TOPIC_COMMAND, &all)
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        create_topic(&self.bootstrap(), name, partitions, 1);
    }
}

/// The broker shared by all tests of one test binary, started on first use and killed
/// when the binary exits. Tests must not stop it; isolate with `unique_name`.
pub fn shared_kafka() -> &'static Kafka {
    static SHARED: OnceLock<Kafka> = OnceLock::new();
    SHARED.get_or_init(Kafka::start)
}

/// Three combined broker+controller nodes; RF 3, min.insync.replicas 2.
pub struct KafkaCluster {
    pub brokers: Vec<KafkaNode>,
    _dir: TestDir,
}

impl KafkaCluster {
    pub fn start() -> KafkaCluster {
        let dir = TestDir::new("kafka-cluster");
        let brokers = start_nodes(&dir, 3, 3, 2);
        let c = KafkaCluster { brokers, _dir: dir };
        c.wait_brokers(3, Duration::from_secs(60));
        c
    }

    /// Bootstrap list of all nodes.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(KafkaNode::bootstrap)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn broker(&self, i: usize) -> &KafkaNode {
        &self.brokers[i]
    }

    /// Waits until metadata lists exactly `n` brokers.
    pub fn wait_brokers(&self, n: usize, timeout: Duration) {
        let mut last;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match broker_ids(&self.bootstrap()) {
                Ok(ids) if ids.len() == n => return,
                Ok(ids) => last = format!("brokers {ids:?}"),
                Err(e) => last = e,
            }
            if std::time::Instant::now() >= deadline {
                panic!(
                    "Kafka cluster: expected {n} brokers, last: {last}\n{}",
                    self.brokers[0].log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn tool(&self, class: &str, args: &[&str]) -> Output {
        let b = self.bootstrap();
        let mut all = vec!["--bootstrap-server", b.as_str()];
        all.extend_from_slice(args);
        kafka_tool(class, &all)
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        create_topic(&self.bootstrap(), name, partitions, 3);
    }
}
