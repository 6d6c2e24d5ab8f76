//! Before timing starts: the directory, then one account per worker.

use std::sync::Arc;

use ring::rand::SystemRandom;
use tokio::sync::Semaphore;

use crate::account_key::AccountKey;
use crate::error::Error;
use crate::jws::JwsSigner;
use crate::session::{AcmeServer, Session};

/// Accounts created at once: enough to be quick, few enough not to be a load test of
/// newAccount.
const PARALLEL_ACCOUNT_CREATIONS: usize = 16;

/// RFC 8555 §7.3: creates `count` accounts (ES256 keys, terms of service agreed), each as a
/// session ready to sign with its account URL.
pub(crate) async fn create_accounts(
    server: Arc<AcmeServer>,
    count: u32,
) -> Result<Vec<Session>, Error> {
    let permits = Arc::new(Semaphore::new(PARALLEL_ACCOUNT_CREATIONS));
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let server = Arc::clone(&server);
            let permits = Arc::clone(&permits);
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                create_account(server).await
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(tasks.len());
    for task in tasks {
        let session = task
            .await
            .map_err(|e| Error::Internal(format!("account creation task failed: {e}")))??;
        sessions.push(session);
    }
    Ok(sessions)
}

async fn create_account(server: Arc<AcmeServer>) -> Result<Session, Error> {
    let key = AccountKey::generate(&SystemRandom::new())?;
    let mut session = Session::new(Arc::clone(&server), JwsSigner::with_jwk(key));
    let url = server.directory.new_account.clone();
    let reply = session
        .post(&url, Some(br#"{"termsOfServiceAgreed":true}"#), None)
        .await?;
    // 201 for a new account; 200 (an existing key) cannot happen with a fresh key but is
    // just as usable.
    let account_url = reply.location()?.to_owned();
    Ok(session.into_account(&account_url))
}
