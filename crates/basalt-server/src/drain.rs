//! Graceful shutdown of the HTTPS listener (issue 17): stop accepting, let every open
//! connection finish the request it is serving, and wait for them within a bound.
//!
//! The accept loop owns a [`Drain`]; each connection task holds a [`DrainWatch`]. Starting
//! the drain tells every watch at once (a `watch` channel); each connection then asks hyper
//! to shut down gracefully (HTTP/1: close after the response in flight, or at once when idle;
//! HTTP/2: GOAWAY, in-flight streams finish). The drain is over when every watch is dropped,
//! which the closing of an `mpsc` channel whose only senders are the watches tells without
//! counting by hand.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// The accept loop's side: hands out watches, then starts the drain and waits for it.
pub(crate) struct Drain {
    signal: watch::Sender<bool>,
    alive: mpsc::Sender<()>,
    all_gone: mpsc::Receiver<()>,
}

/// A connection's side: learns that the drain started; dropped when the connection ends.
pub(crate) struct DrainWatch {
    signal: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
}

impl Drain {
    pub(crate) fn new() -> Self {
        let (signal, _) = watch::channel(false);
        let (alive, all_gone) = mpsc::channel(1);
        Self {
            signal,
            alive,
            all_gone,
        }
    }

    /// A watch for one more connection.
    pub(crate) fn watch(&self) -> DrainWatch {
        DrainWatch {
            signal: self.signal.subscribe(),
            _alive: self.alive.clone(),
        }
    }

    /// Tells every connection to finish, then waits up to `timeout` for all of them to end.
    /// `true` when they all did; `false` when some were still open at the deadline (their
    /// tasks are left to the runtime's shutdown).
    pub(crate) async fn finish(self, timeout: Duration) -> bool {
        let Self {
            signal,
            alive,
            mut all_gone,
        } = self;
        signal.send_replace(true);
        drop(alive);
        // `recv` yields `None` once every sender (one per open connection) is dropped; no
        // sender ever sends.
        tokio::time::timeout(timeout, all_gone.recv()).await.is_ok()
    }
}

impl DrainWatch {
    /// Completes once the drain has started (at once if it already has). Cancel-safe.
    pub(crate) async fn started(&mut self) {
        // An error means the `Drain` is gone without starting: then it never will, and the
        // connection runs until it ends by itself.
        if self.signal.wait_for(|draining| *draining).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finish_waits_for_every_watch_and_tells_each_one() {
        let drain = Drain::new();
        let mut first = drain.watch();
        let mut second = drain.watch();
        let connection = tokio::spawn(async move {
            first.started().await;
            second.started().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop((first, second));
        });
        assert!(drain.finish(Duration::from_secs(5)).await);
        connection.await.unwrap();
    }

    #[tokio::test]
    async fn finish_gives_up_at_the_deadline() {
        let drain = Drain::new();
        let stuck = drain.watch();
        assert!(!drain.finish(Duration::from_millis(50)).await);
        drop(stuck);
    }

    #[tokio::test]
    async fn finish_without_connections_is_immediate() {
        assert!(Drain::new().finish(Duration::from_millis(1)).await);
    }
}
