//! `basalt serve`: load (or create) the data directory, connect storage, and serve ACME
//! over HTTPS until SIGINT or SIGTERM.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use basalt_server::Server;
use basalt_server::SystemClock;
use basalt_server::{DirectoryConfig, DirectoryMetaConfig, IssuancePolicy, ServerConfig};
use basalt_signer::{Issuer, PkiPaths, pem_to_der, sha256_fingerprint};
use basalt_storage::{StorageConfig, Store};
use basalt_validation::{ValidationConfig, Validator};

use crate::cli::ServeArgs;
use crate::config::Config;

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

    let store = Store::connect(&StorageConfig {
        url: config.database_url(data),
        max_connections: config.storage.max_connections,
        acquire_timeout: config.storage.acquire_timeout,
    })
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

    let directories = config
        .directories
        .iter()
        .map(|(name, section)| {
            directory_config(data, name, section, config.directory_egress(name)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let root_path = PkiPaths::new(data).root_cert();
    let root_pem = std::fs::read_to_string(&root_path)
        .with_context(|| format!("reading {}", root_path.display()))?;
    let root_fingerprint = root_fingerprint(&root_pem)?;
    let server_config = ServerConfig {
        root_pem,
        listen: config.server.listen,
        serving_names: config.server.serving_names.clone(),
        serving_certificate_lifetime: config.server.serving_certificate_lifetime,
        directories,
        nonce_lifetime: config.server.nonce_lifetime,
        account_cache_ttl: config.server.account_cache_ttl,
        validation_concurrency: config.validation.concurrency,
        validation_lease: config.validation.lease,
        valid_authorization_lifetime: config.validation.valid_authorization_lifetime,
        orders_per_page: config.server.orders_per_page,
        max_request_bytes: config.server.max_request_bytes,
        connections: config.connection_settings(),
        validation_queue: config.validation_queue_limits(),
    };

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (is another server using it?)",
                config.server.listen
            )
        })?;
    let server = Server::new(
        store,
        Arc::new(validator),
        server_config,
        Arc::new(SystemClock),
    )
    .await
    .context("starting the server")?;

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
    println!("basalt: root certificate SHA-256 fingerprint {root_fingerprint}");
    println!(
        "basalt: trust the root with `basalt root --data {}`",
        data.display()
    );

    server.run(listener, shutdown_signal()).await?;
    println!("basalt: stopped");
    Ok(())
}

fn apply_flags(config: &mut Config, args: &ServeArgs) {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
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

fn directory_config(
    data: &Path,
    name: &str,
    section: &crate::config::DirectorySection,
    egress: Option<basalt_validation::EgressPolicy>,
) -> anyhow::Result<DirectoryConfig> {
    let cert = data.join(&section.intermediate_cert);
    let key = data.join(&section.intermediate_key);
    let issuer = Issuer::load(&cert, &key)
        .with_context(|| format!("directories.{name}: loading the intermediate"))?;
    Ok(DirectoryConfig {
        name: name.to_owned(),
        issuer: Arc::new(issuer),
        policy: IssuancePolicy {
            certificate_lifetime: section.certificate_lifetime,
            max_certificate_lifetime: section.max_certificate_lifetime,
            backdate: section.backdate,
            order_lifetime: section.order_lifetime,
            pending_authorization_lifetime: section.pending_authorization_lifetime,
        },
        meta: DirectoryMetaConfig {
            terms_of_service: section.terms_of_service.clone(),
            website: section.website.clone(),
            caa_identities: section.caa_identities.clone(),
        },
        check_caa: section.check_caa,
        egress,
        allow_reserved_identifiers: section.allow_reserved_identifiers,
    })
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use basalt_signer::{InitOptions, PkiPaths, init_pki};

    use super::directory_config;
    use crate::config::DirectorySection;

    /// `serve` refuses to start with an intermediate key file that group or others can read,
    /// naming the file.
    #[test]
    fn a_group_or_world_readable_intermediate_key_stops_serve() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = PkiPaths::new(tmp.path());
        init_pki(&paths, &InitOptions::default()).unwrap();
        let key = paths.intermediate_key("default");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = directory_config(tmp.path(), "default", &DirectorySection::default(), None)
            .err()
            .expect("a 0644 key must be refused");
        let message = format!("{err:#}");
        assert!(message.contains(&key.display().to_string()), "{message}");
        assert!(message.contains("644"), "{message}");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(
            directory_config(tmp.path(), "default", &DirectorySection::default(), None).is_ok()
        );
    }
}
