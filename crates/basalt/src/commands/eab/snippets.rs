//! The ready-to-paste client configuration `basalt eab create` prints: certbot and lego
//! command lines and a cert-manager `ClusterIssuer` with the Secret holding the HMAC key
//! (the flags and fields each client documents for EAB; see /docs/eab.md).

use serde_json::{Value, json};

use crate::config::Config;

/// The area's directory URL as clients should use it: `--server-url` (an origin, or a full
/// directory URL), else the first of `server.serving_names` (or the listen address) and the
/// listen port, as `serve` prints it.
pub(super) fn directory_url(config: &Config, area: &str, server_url: Option<&str>) -> String {
    if let Some(url) = server_url {
        let url = url.trim_end_matches('/');
        if url.ends_with("/directory") {
            return url.to_owned();
        }
        return format!("{url}/acme/{area}/directory");
    }
    let listen = config.server.listen;
    let host = match config.server.serving_names.first() {
        Some(name) if name.contains(':') => format!("[{name}]"),
        Some(name) => name.clone(),
        None => match listen.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            ip if ip.is_ipv6() => format!("[{ip}]"),
            ip => ip.to_string(),
        },
    };
    format!("https://{host}:{}/acme/{area}/directory", listen.port())
}

/// The three snippets for one key.
pub(super) struct Snippets {
    certbot: String,
    lego: String,
    cert_manager: String,
}

impl Snippets {
    pub(super) fn new(url: &str, kid: &str, hmac_key: &str, area: &str) -> Self {
        let certbot = format!(
            "REQUESTS_CA_BUNDLE=root.pem certbot register --server {url} \\\n  --eab-kid {kid} --eab-hmac-key {hmac_key} \\\n  --agree-tos --email admin@example.internal"
        );
        let lego = format!(
            "LEGO_CA_CERTIFICATES=root.pem lego --server {url} \\\n  --eab --kid {kid} --hmac {hmac_key} \\\n  --accept-tos --email admin@example.internal --domains host.example.internal --http run"
        );
        let cert_manager = format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: basalt-{area}-eab
  namespace: cert-manager
type: Opaque
stringData:
  secret: {hmac_key}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: basalt-{area}
spec:
  acme:
    server: {url}
    # caBundle: the output of `basalt root`, base64-encoded
    privateKeySecretRef:
      name: basalt-{area}-account-key
    externalAccountBinding:
      keyID: {kid}
      keySecretRef:
        name: basalt-{area}-eab
        key: secret
    solvers:
      - http01:
          ingress: {{}}
"
        );
        Self {
            certbot,
            lego,
            cert_manager,
        }
    }

    /// The human form: each snippet under a heading.
    pub(super) fn text(&self) -> String {
        format!(
            "certbot:\n{}\n\nlego:\n{}\n\ncert-manager (kubectl apply -f -):\n{}",
            self.certbot, self.lego, self.cert_manager
        )
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "certbot": self.certbot,
            "lego": self.lego,
            "cert_manager": self.cert_manager,
        })
    }
}
