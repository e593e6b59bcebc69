//! The first hop of a Stream Load with `Expect: 100-continue` honoured: the
//! request head goes out alone and the body only once the server asks for it.
//!
//! A StarRocks FE answers the head with its 307 to a BE and closes the
//! connection without reading a body; a client that sends the body along
//! (as `reqwest`/hyper do, whatever the `Expect` header says) gets "connection
//! reset" once the body is larger than the socket buffers, every time. So
//! this hop speaks plain HTTP/1.1 itself: head → 307 (follow, body not sent),
//! or `100 Continue` (a BE: send the body here, read the reply), or a final
//! reply (an error); no interim reply within [`CONTINUE_WAIT`] → the body is
//! sent anyway, as RFC 9110 allows.

use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long the head waits for an interim or final reply before the body goes.
pub const CONTINUE_WAIT: Duration = Duration::from_secs(3);

/// A reply to the hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// 3xx with this `Location`.
    Redirect(String),
    /// A final reply.
    Final {
        /// HTTP status.
        status: u16,
        /// Its body as text.
        body: String,
    },
}

/// Why the hop failed (a transport error: retried by the caller).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct HopError(String);

fn io(what: &str, e: std::io::Error) -> HopError {
    HopError(format!("{what}: {e}"))
}

/// `http://host:port/path?query` → (`host:port`, `/path?query`); `None` for other schemes.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// Whether `url` can take this path (plain `http://`).
pub(super) fn supports(url: &str) -> bool {
    split_url(url).is_some()
}

/// One PUT of `body` to `url` with `headers` (which carry `Expect: 100-continue`).
pub(super) async fn put(
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
    timeout: Duration,
) -> Result<Reply, HopError> {
    tokio::time::timeout(timeout, exchange(url, headers, body))
        .await
        .map_err(|_| HopError(format!("no reply within {timeout:?}")))?
}

async fn exchange(url: &str, headers: &HeaderMap, body: &[u8]) -> Result<Reply, HopError> {
    let (authority, path) =
        split_url(url).ok_or_else(|| HopError(format!("{url}: not an http:// address")))?;
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|e| io("connect", e))?;
    stream.set_nodelay(true).map_err(|e| io("socket", e))?;
    let mut conn = BufReader::new(stream);
    let mut head = format!("PUT {path} HTTP/1.1\r\nHost: {authority}\r\n");
    for (name, value) in headers {
        let Ok(v) = value.to_str() else {
            return Err(HopError(format!("header {name} is not text")));
        };
        head.push_str(&format!("{name}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    conn.get_mut()
        .write_all(head.as_bytes())
        .await
        .map_err(|e| io("sending the request head", e))?;
    let first = tokio::time::timeout(CONTINUE_WAIT, read_head(&mut conn)).await;
    let (status, fields) = match first {
        Ok(r) => r?,
        // No interim reply: the body goes, then the reply is read.
        Err(_) => {
            send_body(&mut conn, body).await?;
            read_head(&mut conn).await?
        }
    };
    let (status, fields) = if status == 100 {
        send_body(&mut conn, body).await?;
        read_head(&mut conn).await?
    } else {
        (status, fields)
    };
    if (300..400).contains(&status) {
        let location = field(&fields, "location")
            .ok_or_else(|| HopError(format!("redirect {status} without a Location")))?;
        return Ok(Reply::Redirect(location.to_string()));
    }
    let body = read_body(&mut conn, &fields).await?;
    Ok(Reply::Final {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn send_body(conn: &mut BufReader<TcpStream>, body: &[u8]) -> Result<(), HopError> {
    let s = conn.get_mut();
    s.write_all(body)
        .await
        .map_err(|e| io("sending the body", e))?;
    s.flush().await.map_err(|e| io("sending the body", e))
}

/// Reads a status line and header fields (names lowercased).
async fn read_head(
    conn: &mut BufReader<TcpStream>,
) -> Result<(u16, Vec<(String, String)>), HopError> {
    let mut line = String::new();
    let n = conn
        .read_line(&mut line)
        .await
        .map_err(|e| io("reading the reply", e))?;
    if n == 0 {
        return Err(HopError("connection closed before a reply".into()));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| HopError(format!("not an HTTP status line: {:?}", line.trim_end())))?;
    let mut fields = Vec::new();
    loop {
        line.clear();
        let n = conn
            .read_line(&mut line)
            .await
            .map_err(|e| io("reading the reply", e))?;
        let l = line.trim_end();
        if n == 0 || l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok((status, fields))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The reply body: by `Content-Length`, chunked, or up to the close.
async fn read_body(
    conn: &mut BufReader<TcpStream>,
    fields: &[(String, String)],
) -> Result<Vec<u8>, HopError> {
    let mut out = Vec::new();
    if let Some(len) = field(fields, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        out.resize(len, 0);
        conn.read_exact(&mut out)
            .await
            .map_err(|e| io("reading the reply body", e))?;
    } else if field(fields, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut line = String::new();
        loop {
            line.clear();
            conn.read_line(&mut line)
                .await
                .map_err(|e| io("reading the reply body", e))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| HopError(format!("bad chunk size {:?}", line.trim())))?;
            if size == 0 {
                break;
            }
            let start = out.len();
            out.resize(start + size, 0);
            conn.read_exact(&mut out[start..])
                .await
                .map_err(|e| io("reading the reply body", e))?;
            line.clear();
            conn.read_line(&mut line)
                .await
                .map_err(|e| io("reading the reply body", e))?;
        }
    } else {
        conn.read_to_end(&mut out)
            .await
            .map_err(|e| io("reading the reply body", e))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("http://fe:8030/api/d/t/_stream_load"),
            Some(("fe:8030", "/api/d/t/_stream_load"))
        );
        assert_eq!(split_url("http://fe:8030"), Some(("fe:8030", "/")));
        assert_eq!(split_url("https://fe:8030/x"), None);
    }

    /// A server that answers the head with a redirect and closes without
    /// reading a byte of the body (what a StarRocks FE does).
    #[tokio::test]
    async fn a_redirect_is_read_before_a_large_body_is_sent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut s = BufReader::new(s);
            let mut line = String::new();
            let mut head = String::new();
            loop {
                line.clear();
                s.read_line(&mut line).await.unwrap();
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            s.get_mut()
                .write_all(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://be:8040/api/d/t/_stream_load\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            head
        });
        let mut h = HeaderMap::new();
        h.insert("expect", "100-continue".parse().unwrap());
        h.insert("label", "l1".parse().unwrap());
        // 64 MiB: far more than any socket buffer.
        let body = vec![b'x'; 64 << 20];
        let url = format!("http://{addr}/api/d/t/_stream_load");
        let r = put(&url, &h, &body, Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            r,
            Reply::Redirect("http://be:8040/api/d/t/_stream_load".into())
        );
        let head = server.await.unwrap();
        assert!(
            head.starts_with("PUT /api/d/t/_stream_load HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("expect: 100-continue\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", 64 << 20)),
            "{head}"
        );
    }
}
