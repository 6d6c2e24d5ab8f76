//! A programmable DNS server for tests: answers A/AAAA/TXT/CAA/CNAME from a shared store
//! over UDP and TCP, so dns-01 and CAA checks can be tested without touching the real DNS.
//!
//! Use [`TestDns::start`] in-process, or the `basalt-test-dns` binary with the HTTP control
//! API ([`serve_control`]) from scripts.

mod answer;
mod control;
mod rdata;
mod records;
mod server;

use std::net::SocketAddr;

use tokio::task::JoinHandle;

pub use control::serve_control;
pub use records::{CaaRecord, Records};

/// A running test DNS server; dropping it (or [`TestDns::shutdown`]) stops it.
#[derive(Debug)]
pub struct TestDns {
    addr: SocketAddr,
    records: Records,
    tasks: Vec<JoinHandle<()>>,
}

impl TestDns {
    /// Serves UDP and TCP on `addr`. Port 0 picks one port free for both transports.
    ///
    /// Must be called inside a tokio runtime, which runs the listener tasks.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let (udp, tcp) = server::bind(addr).await?;
        let addr = udp.local_addr()?;
        let records = Records::new();
        let tasks = vec![
            tokio::spawn(server::serve_udp(udp, records.clone())),
            tokio::spawn(server::serve_tcp(tcp, records.clone())),
        ];
        tracing::debug!(%addr, "test DNS server listening (udp+tcp)");
        Ok(Self {
            addr,
            records,
            tasks,
        })
    }

    /// The address both transports listen on (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the records this server answers from.
    pub fn records(&self) -> Records {
        self.records.clone()
    }

    /// Stops the server and waits until its sockets are closed, so the port can be reused.
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // The only possible error is the cancellation just requested.
            let _ = task.await;
        }
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
