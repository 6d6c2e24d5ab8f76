//! A round-robin TCP proxy: the smallest load balancer in front of several basalt replicas.
//!
//! Each accepted connection goes to the next backend in turn; bytes are copied both ways
//! untouched (basalt terminates TLS itself, so the proxy sees only ciphertext). A backend
//! that refuses the connection is skipped for that connection, as a load balancer's
//! health check would, so killing one replica leaves the other serving every new
//! connection. Nothing is sticky: that is the point of the scale-out tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};

/// How many connections each backend received, in backend order.
#[derive(Debug, Default)]
pub struct ProxyStats {
    per_backend: Vec<AtomicU64>,
    refused: AtomicU64,
}

impl ProxyStats {
    /// Connections each backend has accepted so far.
    pub fn connections(&self) -> Vec<u64> {
        self.per_backend
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Connection attempts a backend refused (it was skipped for the next one).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Accepts connections on `listener` forever, spreading them over `backends`.
pub async fn run_proxy(listener: TcpListener, backends: Vec<SocketAddr>, stats: Arc<ProxyStats>) {
    let next = Arc::new(AtomicUsize::new(0));
    let backends = Arc::new(backends);
    loop {
        let Ok((client, peer)) = listener.accept().await else {
            continue;
        };
        let (backends, next, stats) = (backends.clone(), next.clone(), stats.clone());
        tokio::spawn(async move {
            let Some((index, mut upstream)) = connect_next(&backends, &next, &stats).await else {
                tracing::warn!(%peer, "no backend accepted the connection");
                return;
            };
            tracing::debug!(%peer, backend = %backends[index], "proxying");
            let mut client = client;
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let _ = copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}

/// Connects to the next backend in turn, trying each at most once.
async fn connect_next(
    backends: &[SocketAddr],
    next: &AtomicUsize,
    stats: &ProxyStats,
) -> Option<(usize, TcpStream)> {
    let start = next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..backends.len() {
        let index = (start + offset) % backends.len();
        match TcpStream::connect(backends[index]).await {
            Ok(stream) => {
                stats.per_backend[index].fetch_add(1, Ordering::Relaxed);
                return Some((index, stream));
            }
            Err(e) => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(backend = %backends[index], error = %e, "backend refused; trying the next");
            }
        }
    }
    None
}

/// Statistics sized for `backends` backends.
pub fn stats_for(backends: usize) -> Arc<ProxyStats> {
    Arc::new(ProxyStats {
        per_backend: (0..backends).map(|_| AtomicU64::new(0)).collect(),
        refused: AtomicU64::new(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A backend that answers every connection with its own name.
    async fn named_backend(name: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut byte = [0u8; 1];
                let _ = stream.read_exact(&mut byte).await;
                let _ = stream.write_all(name).await;
            }
        });
        addr
    }

    async fn ask(proxy: SocketAddr) -> Vec<u8> {
        let mut stream = TcpStream::connect(proxy).await.unwrap();
        stream.write_all(b"?").await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn alternates_backends_and_skips_a_dead_one() {
        let a = named_backend(b"a").await;
        let b = named_backend(b"b").await;
        // A port nothing listens on: bind, note the address, close.
        let dead = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = listener.local_addr().unwrap();
        let stats = stats_for(3);
        tokio::spawn(run_proxy(listener, vec![a, dead, b], stats.clone()));

        let mut answers = Vec::new();
        for _ in 0..6 {
            // Each backend closes after answering; the proxy passes the close on.
            answers.push(String::from_utf8(ask(proxy).await).unwrap());
        }
        // Round robin over a, dead (→ b), b: a, b, b, a, b, b.
        assert_eq!(answers, ["a", "b", "b", "a", "b", "b"]);
        assert_eq!(stats.connections(), vec![2, 0, 4]);
        assert_eq!(stats.refused(), 2);
    }
}
