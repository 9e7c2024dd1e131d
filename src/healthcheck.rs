//! `billing-center healthcheck`: the container's health probe. The runtime image has no curl,
//! and `--version` would pass with the server down, so the binary asks its own server's
//! `/readyz` (the process serves *and* reaches PostgreSQL) over one plain HTTP/1.1 request.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the whole exchange may take by default: well under the image's HEALTHCHECK
/// `--timeout`, so that a hung server is reported by us, with a reason, not killed by Docker.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The status line is all we read; a server that sends more than this before a line break
/// is not ours.
const MAX_STATUS_LINE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer from http://{addr}/readyz within {timeout:?}")]
    Timeout { addr: SocketAddr, timeout: Duration },
    #[error("cannot reach http://{addr}/readyz: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("http://{addr}/readyz answered {status}: not ready")]
    NotReady { addr: SocketAddr, status: u16 },
    #[error("http://{addr}/readyz did not answer with an HTTP status line: {line:?}")]
    NotHttp { addr: SocketAddr, line: String },
}

/// Where to reach a server that listens on `bind_addr`: a server bound to every interface
/// (`0.0.0.0`, `[::]`) is reached on the loopback address of the same family.
pub fn probe_target(bind_addr: SocketAddr) -> SocketAddr {
    let mut target = bind_addr;
    if bind_addr.ip().is_unspecified() {
        target.set_ip(match bind_addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    target
}

/// `GET http://{addr}/readyz`: Ok when the answer is 200, within `timeout` for the whole
/// exchange (connect, send, read the status line).
pub async fn probe_readyz(addr: SocketAddr, timeout: Duration) -> Result<(), ProbeError> {
    let status = tokio::time::timeout(timeout, status_of_readyz(addr))
        .await
        .map_err(|_| ProbeError::Timeout { addr, timeout })??;
    if status == 200 {
        Ok(())
    } else {
        Err(ProbeError::NotReady { addr, status })
    }
}

async fn status_of_readyz(addr: SocketAddr) -> Result<u16, ProbeError> {
    let io = |source| ProbeError::Io { addr, source };
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: billing-center-healthcheck\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0_u8; 256];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let read = stream.read(&mut chunk).await.map_err(io)?;
        if read == 0 {
            break;
        }
        head.extend(chunk.iter().take(read));
    }
    status_code(&head).ok_or_else(|| ProbeError::NotHttp {
        addr,
        line: String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or_default())
            .trim_end()
            .to_owned(),
    })
}

/// The status code of an HTTP/1.x response that starts with `head` (`HTTP/1.1 200 OK\r\n…`).
pub fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn a_server_on_every_interface_is_probed_on_loopback() {
        assert_eq!(probe_target(addr("0.0.0.0:8080")), addr("127.0.0.1:8080"));
        assert_eq!(probe_target(addr("[::]:9000")), addr("[::1]:9000"));
        assert_eq!(probe_target(addr("127.0.0.1:8080")), addr("127.0.0.1:8080"));
        assert_eq!(probe_target(addr("10.1.2.3:80")), addr("10.1.2.3:80"));
    }

    #[test]
    fn reads_the_status_of_an_http_1_response() {
        assert_eq!(
            status_code(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n"),
            Some(200)
        );
        assert_eq!(
            status_code(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(status_code(b"HTTP/1.1 204\r\n"), Some(204));
        for not_http in [
            &b""[..],
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 OK\r\n",
            b"HTTP/2 200\r\n",
        ] {
            assert_eq!(status_code(not_http), None, "{not_http:?}");
        }
    }

    /// A server that answers every connection with `response` after reading the request head.
    async fn canned_server(response: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request: Vec<u8> = Vec::new();
                let mut chunk = [0_u8; 512];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => request.extend(chunk.iter().take(read)),
                    }
                }
                let _ = stream.write_all(response).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn only_a_200_is_ready() {
        let ready = canned_server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
        assert!(probe_readyz(ready, DEFAULT_TIMEOUT).await.is_ok());

        let unavailable = canned_server(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        let error = probe_readyz(unavailable, DEFAULT_TIMEOUT)
            .await
            .expect_err("503 is not ready");
        assert!(
            matches!(error, ProbeError::NotReady { status: 503, .. }),
            "{error}"
        );

        let not_http = canned_server(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        let error = probe_readyz(not_http, DEFAULT_TIMEOUT)
            .await
            .expect_err("not HTTP");
        assert!(error.to_string().contains("SSH-2.0"), "{error}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        // Accepted by the kernel's backlog, never answered.
        let started = std::time::Instant::now();
        let error = probe_readyz(addr, Duration::from_millis(200))
            .await
            .expect_err("silence is not ready");
        assert!(matches!(error, ProbeError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }

    #[tokio::test]
    async fn a_closed_port_is_not_ready() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        drop(listener);
        let error = probe_readyz(addr, DEFAULT_TIMEOUT)
            .await
            .expect_err("nothing listens");
        assert!(matches!(error, ProbeError::Io { .. }), "{error}");
        assert!(error.to_string().contains(&addr.to_string()), "{error}");
    }
}
