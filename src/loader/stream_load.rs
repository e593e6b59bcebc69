//! The Stream Load HTTP client: `PUT /api/{db}/{table}/_stream_load` on the
//! FE with Basic auth and the batch's label, `Expect: 100-continue` honoured
//! on that first hop (`handshake`: the FE redirects after the head and
//! closes without reading a body), following the FE's 307 redirect to the BE
//! itself (re-sending the body and the Authorization header, which HTTP
//! clients drop across hosts), gzip for large bodies, the reply parsed and
//! classified by [`super::retry`], and the rejected-rows log fetched from
//! `ErrorURL`.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, EXPECT, LOCATION};

pub use super::retry::LoadResponse;
use super::retry::{classify, Backoff, Outcome, Reply};

mod handshake;

/// Header names sent with a load.
pub mod header {
    /// Idempotency label.
    pub const LABEL: &str = "label";
    /// Body format.
    pub const FORMAT: &str = "format";
    /// `true`: the body is one JSON array of rows.
    pub const STRIP_OUTER_ARRAY: &str = "strip_outer_array";
    /// Column list (with `__op`).
    pub const COLUMNS: &str = "columns";
    /// Partial update on PRIMARY KEY tables.
    pub const PARTIAL_UPDATE: &str = "partial_update";
    /// Share of rows that may be rejected.
    pub const MAX_FILTER_RATIO: &str = "max_filter_ratio";
    /// Body compression.
    pub const COMPRESSION: &str = "compression";
    /// Load timeout, seconds.
    pub const TIMEOUT: &str = "timeout";
}

/// Redirect hops followed (FE → BE is one).
const MAX_REDIRECTS: usize = 3;

/// Errors building the client or a request (attempt results are [`Outcome`]s).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The HTTP client could not be built.
    #[error("stream load client: {0}")]
    Client(#[source] Box<reqwest::Error>),
    /// A header value is not valid HTTP.
    #[error("table {table}: header {name} has an invalid value")]
    Header {
        /// Target table.
        table: String,
        /// Header.
        name: &'static str,
    },
    /// Compressing the body failed.
    #[error("table {table}: gzip: {source}")]
    Gzip {
        /// Target table.
        table: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Fetching the error log failed.
    #[error("error log {url}: {reason}")]
    ErrorLog {
        /// The ErrorURL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Whether trying again may help.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Error::ErrorLog { .. })
    }
}

/// Where and how to load.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// FE HTTP base URL, `http://host:8030`.
    pub fe_url: String,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Whole-attempt timeout.
    pub timeout: Duration,
    /// Gzip bodies at least this large (`None`: never). StarRocks takes gzip
    /// JSON from v3.2.7.
    pub gzip_min_bytes: Option<usize>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            fe_url: "http://127.0.0.1:8030".into(),
            user: "root".into(),
            password: String::new(),
            timeout: Duration::from_secs(600),
            gzip_min_bytes: Some(1 << 20),
        }
    }
}

/// One load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRequest<'a> {
    /// Database.
    pub db: &'a str,
    /// Table.
    pub table: &'a str,
    /// Label (see [`super::label`]).
    pub label: &'a str,
    /// `columns` header, e.g. `["id", "name", "__op"]`; `None` loads by the
    /// JSON keys.
    pub columns: Option<&'a [String]>,
    /// Partial update (rows carry only some columns).
    pub partial_update: bool,
    /// `max_filter_ratio`; `None` leaves StarRocks' default (0).
    pub max_filter_ratio: Option<f64>,
    /// JSON array of rows (shared, not copied, by each attempt).
    pub body: bytes::Bytes,
}

/// What one load attempt gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The classification.
    pub outcome: Outcome,
    /// The parsed reply, when there was one.
    pub response: Option<LoadResponse>,
}

/// The Stream Load client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
    auth: HeaderValue,
}

impl Client {
    /// A client; redirects are handled here, not by the HTTP library.
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| Error::Client(Box::new(e)))?;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", cfg.user, cfg.password));
        let mut auth =
            HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| Error::Header {
                table: String::new(),
                name: "authorization",
            })?;
        auth.set_sensitive(true);
        Ok(Client { http, cfg, auth })
    }

    /// The headers of a load (without the body's compression).
    pub fn headers(&self, req: &LoadRequest<'_>) -> Result<HeaderMap, Error> {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), Error> {
            let v = HeaderValue::from_str(value).map_err(|_| Error::Header {
                table: req.table.to_string(),
                name,
            })?;
            h.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        put(header::LABEL, req.label)?;
        put(header::FORMAT, "json")?;
        put(header::STRIP_OUTER_ARRAY, "true")?;
        if let Some(cols) = req.columns {
            put(header::COLUMNS, &cols.join(","))?;
        }
        if req.partial_update {
            put(header::PARTIAL_UPDATE, "true")?;
        }
        if let Some(r) = req.max_filter_ratio {
            put(header::MAX_FILTER_RATIO, &r.to_string())?;
        }
        put(
            header::TIMEOUT,
            &self.cfg.timeout.as_secs().max(1).to_string(),
        )?;
        h.insert(AUTHORIZATION, self.auth.clone());
        h.insert(EXPECT, HeaderValue::from_static("100-continue"));
        Ok(h)
    }

    fn url(&self, req: &LoadRequest<'_>) -> String {
        format!(
            "{}/api/{}/{}/_stream_load",
            self.cfg.fe_url.trim_end_matches('/'),
            req.db,
            req.table
        )
    }

    /// One attempt: PUT to the FE, follow its redirect to the BE with the
    /// same headers and body, classify the reply.
    pub async fn load(&self, req: &LoadRequest<'_>) -> Result<Attempt, Error> {
        let mut headers = self.headers(req)?;
        let body: bytes::Bytes = match self.cfg.gzip_min_bytes {
            Some(min) if req.body.len() >= min => {
                headers.insert(
                    HeaderName::from_static(header::COMPRESSION),
                    HeaderValue::from_static("gzip"),
                );
                gzip(&req.body)
                    .map_err(|source| Error::Gzip {
                        table: req.table.to_string(),
                        source,
                    })?
                    .into()
            }
            _ => req.body.clone(),
        };
        let mut url = self.url(req);
        for hop in 0..=MAX_REDIRECTS {
            // The FE: the head alone first (it redirects without reading a body).
            if hop == 0 && handshake::supports(&url) {
                match handshake::put(&url, &headers, &body, self.cfg.timeout).await {
                    Ok(handshake::Reply::Redirect(next)) => {
                        tracing::trace!(table = req.table, from = %url, to = %next, "stream load redirect");
                        url = next;
                        continue;
                    }
                    Ok(handshake::Reply::Final { status, body }) => {
                        return Ok(self.attempt(req, status, &body));
                    }
                    Err(e) => return Ok(transport(req, &url, e)),
                }
            }
            let sent = self
                .http
                .put(&url)
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => return Ok(transport(req, &url, e)),
            };
            let status = resp.status();
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .map(str::to_string);
                match next {
                    Some(next) if hop < MAX_REDIRECTS => {
                        tracing::trace!(table = req.table, from = %url, to = %next, "stream load redirect");
                        url = next;
                        continue;
                    }
                    _ => {
                        return Ok(Attempt {
                            outcome: Outcome::Fatal {
                                reason: format!("{url}: redirect {status} without usable location"),
                            },
                            response: None,
                        })
                    }
                }
            }
            let text = match resp.text().await {
                Ok(t) => t,
                Err(e) => {
                    let reason = format!("{url}: reading reply: {e}");
                    return Ok(Attempt {
                        outcome: classify(&Reply::Transport { reason: &reason }),
                        response: None,
                    });
                }
            };
            return Ok(self.attempt(req, status.as_u16(), &text));
        }
        Ok(Attempt {
            outcome: Outcome::Fatal {
                reason: format!("{url}: too many redirects"),
            },
            response: None,
        })
    }

    /// A reply's classification.
    fn attempt(&self, req: &LoadRequest<'_>, status: u16, text: &str) -> Attempt {
        let outcome = classify(&Reply::Http { status, body: text });
        let response = serde_json::from_str::<LoadResponse>(text).ok();
        tracing::debug!(
            table = req.table,
            label = req.label,
            status,
            ?outcome,
            "stream load attempt"
        );
        Attempt { outcome, response }
    }

    /// Attempts until the outcome is not a retry (or `backoff` gives up),
    /// always with the same label, sleeping `backoff.delay` in between.
    pub async fn load_with_retry(
        &self,
        req: &LoadRequest<'_>,
        backoff: &Backoff,
    ) -> Result<Attempt, Error> {
        let mut attempt = 0u32;
        loop {
            let a = self.load(req).await?;
            attempt += 1;
            if !a.outcome.is_retriable() || !backoff.allows(attempt) {
                return Ok(a);
            }
            let delay = backoff.delay(attempt - 1, random_unit());
            tracing::warn!(table = req.table, label = req.label, attempt, ?delay, outcome = ?a.outcome, "stream load retry");
            tokio::time::sleep(delay).await;
        }
    }

    /// The text behind an `ErrorURL` (the rejected rows and their reasons).
    pub async fn fetch_error_log(&self, url: &str) -> Result<String, Error> {
        let err = |reason: String| Error::ErrorLog {
            url: url.to_string(),
            reason,
        };
        let resp = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.auth.clone())
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("http {}", resp.status())));
        }
        resp.text().await.map_err(|e| err(e.to_string()))
    }
}

/// An attempt that got no reply (retried as a connection error).
fn transport(req: &LoadRequest<'_>, url: &str, e: impl std::fmt::Display) -> Attempt {
    let reason = format!("{url}: {e}");
    tracing::debug!(table = req.table, label = req.label, %reason, "stream load transport error");
    Attempt {
        outcome: classify(&Reply::Transport { reason: &reason }),
        response: None,
    }
}

/// Gzip a body.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// A draw in `[0, 1)` for backoff jitter, without a rand dependency.
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_everything() {
        let c = Client::new(ClientConfig::default()).unwrap();
        let cols = vec!["id".to_string(), "__op".to_string()];
        let req = LoadRequest {
            db: "d",
            table: "t",
            label: "l1",
            columns: Some(&cols),
            partial_update: true,
            max_filter_ratio: Some(0.5),
            body: bytes::Bytes::from_static(b"[]"),
        };
        let h = c.headers(&req).unwrap();
        assert_eq!(h["label"], "l1");
        assert_eq!(h["format"], "json");
        assert_eq!(h["strip_outer_array"], "true");
        assert_eq!(h["columns"], "id,__op");
        assert_eq!(h["partial_update"], "true");
        assert_eq!(h["max_filter_ratio"], "0.5");
        assert_eq!(h["expect"], "100-continue");
        assert_eq!(h["authorization"], "Basic cm9vdDo=");
        assert_eq!(c.url(&req), "http://127.0.0.1:8030/api/d/t/_stream_load");
        let bad = LoadRequest {
            label: "a\nb",
            ..req
        };
        assert!(c.headers(&bad).is_err());
    }

    #[test]
    fn gzip_round_trips_and_jitter_is_a_unit() {
        use std::io::Read as _;
        let z = gzip(b"[1,2,3]").unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "[1,2,3]");
        let u = random_unit();
        assert!((0.0..1.0).contains(&u));
    }
}
