//! One async connection to one broker: TCP or TLS, `ApiVersions` first, then SASL when
//! configured; framed requests with correlation ids. A connection carries at most the
//! requests its caller has sent and not yet read (the batch sends two at a time), and every
//! call runs under the caller's timeout.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::scram;
use super::security::{Mechanism, Sasl, Security};

trait Io: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Io for T {}

/// No answer this path reads comes near this; a larger length means a garbled stream (a TLS
/// listener spoken to in plaintext answers with bytes that read as a huge length).
const MAX_FRAME: usize = 512 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The connection failed or broke (a reconnect may help).
    Io(String),
    Timeout,
    /// The broker answered something this path cannot use.
    Protocol(String),
    /// The broker lacks a version this path needs, or the settings cannot be honoured.
    Unsupported(String),
    /// SASL or TLS refused us.
    Auth(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(e) | WireError::Protocol(e) | WireError::Unsupported(e) => f.write_str(e),
            WireError::Auth(e) => write!(f, "authentication failed: {e}"),
            WireError::Timeout => f.write_str("no answer in time"),
        }
    }
}

fn io(what: &str, addr: &str) -> impl Fn(std::io::Error) -> WireError {
    move |e| WireError::Io(format!("{what} {addr}: {e}"))
}

fn proto(e: impl fmt::Display) -> WireError {
    WireError::Protocol(e.to_string())
}

pub struct Conn {
    io: Box<dyn Io>,
    pub addr: String,
    client_id: StrBytes,
    next_id: i32,
    /// api key → (min, max) version the broker supports.
    versions: HashMap<i16, (i16, i16)>,
    /// Requests written, counted over all of the batch's connections.
    sent: Arc<AtomicUsize>,
}

impl Conn {
    /// Connects, checks the broker's versions and authenticates, all within `timeout`.
    pub async fn open(
        host: &str,
        port: u16,
        sec: &Security,
        timeout: Duration,
        sent: Arc<AtomicUsize>,
    ) -> Result<Conn, WireError> {
        tokio::time::timeout(timeout, Self::open_inner(host, port, sec, sent))
            .await
            .map_err(|_| WireError::Io(format!("connect {host}:{port}: no answer in time")))?
    }

    async fn open_inner(
        host: &str,
        port: u16,
        sec: &Security,
        sent: Arc<AtomicUsize>,
    ) -> Result<Conn, WireError> {
        let addr = format!("{host}:{port}");
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(io("connect", &addr))?;
        // Requests are small and answered one by one: no Nagle delay.
        tcp.set_nodelay(true).map_err(io("connect", &addr))?;
        let io: Box<dyn Io> = match &sec.tls {
            Some(cfg) => {
                let name = ServerName::try_from(host.to_string())
                    .map_err(|e| WireError::Unsupported(format!("TLS name {host:?}: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| WireError::Auth(format!("TLS with {addr}: {e}")))?;
                Box::new(tls)
            }
            None => Box::new(tcp),
        };
        let mut c = Conn {
            io,
            addr,
            client_id: StrBytes::from_string(sec.client_id.clone()),
            next_id: 0,
            versions: HashMap::new(),
            sent,
        };
        c.api_versions().await?;
        if let Some(sasl) = &sec.sasl {
            c.authenticate(sasl).await?;
        }
        Ok(c)
    }

    /// The highest version of `R` both sides speak, at least `min` (what this path needs).
    pub fn version<R: Request>(&self, min: i16) -> Result<i16, WireError> {
        let name = ApiKey::try_from(R::KEY)
            .map(|k| format!("{k:?}"))
            .unwrap_or_else(|_| format!("API {}", R::KEY));
        let (bmin, bmax) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            WireError::Unsupported(format!("broker {} does not offer {name}", self.addr))
        })?;
        let v = bmax.min(R::VERSIONS.max);
        if v < min.max(bmin) {
            return Err(WireError::Unsupported(format!(
                "broker {} offers {name} v{bmin}-{bmax}, v{min}+ is needed",
                self.addr
            )));
        }
        Ok(v)
    }

    /// Writes one request; its answer is read by `recv` with the returned id.
    pub async fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<i32, WireError> {
        Ok(self.send_all(std::slice::from_ref(req), version).await?[0])
    }

    /// Writes `reqs` in one write (one segment on the wire, one wake-up of the broker);
    /// their answers are read by `recv` with the returned ids, in order.
    pub async fn send_all<R: Request>(
        &mut self,
        reqs: &[R],
        version: i16,
    ) -> Result<Vec<i32>, WireError> {
        let mut buf = BytesMut::new();
        let mut ids = Vec::with_capacity(reqs.len());
        for req in reqs {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let mut header = RequestHeader::default();
            header.request_api_key = R::KEY;
            header.request_api_version = version;
            header.correlation_id = id;
            header.client_id = Some(self.client_id.clone());
            let start = buf.len();
            buf.put_i32(0);
            header
                .encode(&mut buf, R::header_version(version))
                .map_err(proto)?;
            req.encode(&mut buf, version).map_err(proto)?;
            let len = i32::try_from(buf.len() - start - 4).map_err(proto)?;
            buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
            ids.push(id);
        }
        let addr = self.addr.clone();
        self.io
            .write_all(&buf)
            .await
            .map_err(io("write to", &addr))?;
        self.io.flush().await.map_err(io("write to", &addr))?;
        self.sent.fetch_add(reqs.len(), Ordering::Relaxed);
        Ok(ids)
    }

    /// Reads the answer to request `id` (answers come in the order of the requests).
    pub async fn recv<R: Request>(
        &mut self,
        id: i32,
        version: i16,
    ) -> Result<R::Response, WireError> {
        let addr = self.addr.clone();
        let len = self.io.read_i32().await.map_err(io("read from", &addr))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_FRAME)
            .ok_or_else(|| {
                WireError::Protocol(format!(
                    "{addr} answered a frame of {len} bytes: not Kafka (or TLS/plaintext mismatch?)"
                ))
            })?;
        let mut buf = vec![0u8; len];
        self.io
            .read_exact(&mut buf)
            .await
            .map_err(io("read from", &addr))?;
        let mut b = Bytes::from(buf);
        let header =
            ResponseHeader::decode(&mut b, R::Response::header_version(version)).map_err(proto)?;
        if header.correlation_id != id {
            return Err(WireError::Protocol(format!(
                "{addr} answered request {} when {id} was expected",
                header.correlation_id
            )));
        }
        let r = R::Response::decode(&mut b, version).map_err(proto)?;
        if b.has_remaining() {
            tracing::debug!(addr, left = b.remaining(), "answer longer than decoded");
        }
        Ok(r)
    }

    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, WireError> {
        let id = self.send(req, version).await?;
        self.recv::<R>(id, version).await
    }

    async fn api_versions(&mut self) -> Result<(), WireError> {
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = StrBytes::from_static_str("opsdeck");
        req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        // v3 (Kafka 2.4+) is older than anything else this path needs.
        let r = self.call(&req, 3).await?;
        if r.error_code != 0 {
            return Err(WireError::Unsupported(format!(
                "broker {} refused ApiVersions v3 (error {}): too old for batched offsets",
                self.addr, r.error_code
            )));
        }
        self.versions = r
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    async fn authenticate(&mut self, sasl: &Sasl) -> Result<(), WireError> {
        let hv = self.version::<SaslHandshakeRequest>(1)?;
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str(sasl.mechanism.name());
        let r = self.call(&hs, hv).await?;
        if r.error_code != 0 {
            let offered: Vec<&str> = r.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(WireError::Auth(format!(
                "broker {} does not enable SASL {} (it offers {})",
                self.addr,
                sasl.mechanism.name(),
                offered.join(", ")
            )));
        }
        let av = self.version::<SaslAuthenticateRequest>(1)?;
        let user = &sasl.username;
        let pass = sasl.password.expose();
        match sasl.mechanism {
            Mechanism::Plain => {
                self.sasl_step(format!("\0{user}\0{pass}").into_bytes(), av)
                    .await?;
            }
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                let algo = if sasl.mechanism == Mechanism::ScramSha256 {
                    scram::SHA256
                } else {
                    scram::SHA512
                };
                let client = scram::Client::new(algo, user, pass, scram::nonce().map_err(proto)?);
                let first = self.sasl_step(client.first().into_bytes(), av).await?;
                let first = String::from_utf8_lossy(&first).into_owned();
                let (fin, check) = client.respond(&first).map_err(WireError::Auth)?;
                let last = self.sasl_step(fin.into_bytes(), av).await?;
                check
                    .verify(&String::from_utf8_lossy(&last))
                    .map_err(WireError::Auth)?;
            }
        }
        Ok(())
    }

    async fn sasl_step(&mut self, bytes: Vec<u8>, version: i16) -> Result<Bytes, WireError> {
        let mut req = SaslAuthenticateRequest::default();
        req.auth_bytes = Bytes::from(bytes);
        let r = self.call(&req, version).await?;
        if r.error_code != 0 {
            let why = r
                .error_message
                .map(|m| m.to_string())
                .unwrap_or_else(|| format!("error {}", r.error_code));
            return Err(WireError::Auth(format!("{}: {why}", self.addr)));
        }
        Ok(r.auth_bytes)
    }
}

/// `reqs` pipelined on the connection to `addr` (the kept `conn`, or a new one) and their
/// answers in order, by `deadline`. A kept connection that turns out broken (the broker
/// restarted, or closed it while idle) is reopened once.
pub async fn pipeline<R: Request>(
    addr: Option<(String, u16)>,
    mut conn: Option<Conn>,
    reqs: &[R],
    min_version: i16,
    sec: &Security,
    sent: &Arc<AtomicUsize>,
    deadline: tokio::time::Instant,
) -> Result<(Conn, Vec<R::Response>), WireError> {
    let (host, port) = addr.ok_or_else(|| WireError::Io("broker not in the metadata".into()))?;
    loop {
        let cached = conn.is_some();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(&host, port, sec, left, sent.clone()).await?,
        };
        let exchange = async {
            let v = c.version::<R>(min_version)?;
            let ids = c.send_all(reqs, v).await?;
            let mut answers = Vec::with_capacity(reqs.len());
            for id in ids {
                answers.push(c.recv::<R>(id, v).await?);
            }
            Ok::<_, WireError>(answers)
        };
        match tokio::time::timeout(left, exchange).await {
            Ok(Ok(answers)) => return Ok((c, answers)),
            Ok(Err(WireError::Io(_))) if cached => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(WireError::Io(format!(
                    "{host}:{port}: no answer within {left:.0?}"
                )));
            }
        }
    }
}
