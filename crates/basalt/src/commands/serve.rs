//! `basalt serve`: load (or create) the data directory, connect storage, and serve ACME
//! over HTTPS until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use basalt_server::Metrics;
use basalt_server::Server;
use basalt_server::ServerConfig;
use basalt_server::SystemClock;
use basalt_signer::{PkiPaths, pem_to_der, sha256_fingerprint};
use basalt_storage::{StorageConfig, Store};
use basalt_validation::{ValidationConfig, Validator};

use crate::areas::load::load_areas;
use crate::areas::reload::Reloader;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::keys::KeyContext;

pub(crate) async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let data = &args.init.data.data;
    if !PkiPaths::new(data).is_initialised() {
        println!(
            "basalt: {} holds no PKI yet; initialising it",
            data.display()
        );
        crate::commands::init::run(&args.init)?;
    }
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| data.join("basalt.toml"));
    let mut config = Config::load(&config_path)?;
    apply_flags(&mut config, args);
    config.validate()?;

    let metrics = Metrics::new();
    let store = Store::connect_observed(
        &StorageConfig {
            url: config.database_url(data),
            max_connections: config.storage.max_connections,
            acquire_timeout: config.storage.acquire_timeout,
        },
        Some(metrics.database_observer()),
    )
    .await
    .context("connecting to the database")?;

    let validator = Validator::new(ValidationConfig {
        http01_port: config.validation.http01_port,
        tlsalpn01_port: config.validation.tlsalpn01_port,
        resolvers: config.validation.resolvers.clone(),
        connect_timeout: config.validation.connect_timeout,
        attempt_timeout: config.validation.attempt_timeout,
        egress: config.egress()?,
        ..ValidationConfig::default()
    })
    .context("building the validator")?;

    // Read once: the secrets and the open tokens serve every reload.
    let keys = Arc::new(KeyContext::from_config(data, &config.keys)?);
    let areas = load_areas(
        data,
        &config,
        &store,
        &keys,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let root_path = PkiPaths::new(data).root_cert();
    let root_pem = std::fs::read_to_string(&root_path)
        .with_context(|| format!("reading {}", root_path.display()))?;
    let root_fingerprint = root_fingerprint(&root_pem)?;
    let server_config = ServerConfig {
        root_pem,
        listen: config.server.listen,
        serving_names: config.server.serving_names.clone(),
        serving_certificate_lifetime: config.server.serving_certificate_lifetime,
        areas,
        nonce_lifetime: config.server.nonce_lifetime,
        account_cache_ttl: config.server.account_cache_ttl,
        validation_concurrency: config.validation.concurrency,
        validation_lease: config.validation.lease,
        valid_authorization_lifetime: config.validation.valid_authorization_lifetime,
        orders_per_page: config.server.orders_per_page,
        issuance_stale_after: config.server.issuance_stale_after,
        max_request_bytes: config.server.max_request_bytes,
        connections: config.connection_settings(),
        validation_queue: config.validation_queue_limits(),
        metrics,
    };

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (is another server using it?)",
                config.server.listen
            )
        })?;
    let pki_listener =
        match config.server.pki_listen {
            Some(address) => Some(tokio::net::TcpListener::bind(address).await.with_context(
                || format!("binding server.pki_listen {address} (is another server using it?)"),
            )?),
            None => None,
        };
    let metrics_listener =
        match config.server.metrics_listen {
            Some(address) => Some(tokio::net::TcpListener::bind(address).await.with_context(
                || format!("binding server.metrics_listen {address} (is another server using it?)"),
            )?),
            None => None,
        };
    let mut server = Server::new(
        store.clone(),
        Arc::new(validator),
        server_config,
        Arc::new(SystemClock),
    )
    .await
    .context("starting the server")?;
    if let Some(listener) = pki_listener {
        server = server.with_pki_listener(listener);
    }
    if let Some(listener) = metrics_listener {
        server = server.with_metrics_listener(listener);
    }
    let flags = args.clone();
    let reloader = Reloader {
        data: data.clone(),
        config_path: config_path.clone(),
        apply_flags: Box::new(move |config| apply_flags(config, &flags)),
        store,
        keys,
        areas: server.areas(),
        interval: config.server.area_refresh_interval,
    };
    let reloading = tokio::spawn(reloader.run());

    let host = match config.server.listen.ip() {
        ip if ip.is_unspecified() => "localhost".to_owned(),
        ip if ip.is_ipv6() => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    for name in config.directories.keys() {
        println!(
            "basalt: ACME directory https://{host}:{}/acme/{name}/directory",
            config.server.listen.port()
        );
    }
    if let Some(address) = config.server.metrics_listen {
        println!("basalt: metrics at http://{address}/metrics, health at /healthz and /readyz");
    }
    if let Some(address) = config.server.pki_listen {
        println!("basalt: CRLs and CA certificates at http://{address}/");
    }
    println!("basalt: root certificate SHA-256 fingerprint {root_fingerprint}");
    println!(
        "basalt: trust the root with `basalt root --data {}`",
        data.display()
    );

    server.run(listener, shutdown_signal()).await?;
    reloading.abort();
    println!("basalt: stopped");
    Ok(())
}

fn apply_flags(config: &mut Config, args: &ServeArgs) {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(address) = args.metrics_listen {
        config.server.metrics_listen = Some(address);
    }
    if let Some(port) = args.http01_port {
        config.validation.http01_port = port;
    }
    if let Some(port) = args.tlsalpn01_port {
        config.validation.tlsalpn01_port = port;
    }
    if !args.resolvers.is_empty() {
        config.validation.resolvers = args.resolvers.clone();
    }
    if !args.egress_allow.is_empty() {
        config.validation.egress_allow = args.egress_allow.clone();
    }
    if let Some(url) = &args.database_url {
        config.storage.database_url = url.clone();
    }
}

fn root_fingerprint(root_pem: &str) -> anyhow::Result<String> {
    let der = pem_to_der(root_pem)?;
    let first = der
        .first()
        .context("the root certificate file holds no certificate")?;
    Ok(sha256_fingerprint(first))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let Ok(mut terminate) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = interrupt.await;
        return;
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}
