//! TLS for outgoing HTTPS (agents behind a TLS proxy, Discord, Slack, ntfy.sh): rustls with
//! ring, trusting the system's CA bundle. An embedded copy of the roots would add about 200 KB
//! to the binary and age with it; every distribution ships and updates its own bundle.

use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

/// How every outgoing request names us.
pub const USER_AGENT: &str = concat!("lanstat-server/", env!("CARGO_PKG_VERSION"));

/// Where distributions keep their CA bundle, most common first; `SSL_CERT_FILE` comes before.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Raspberry Pi OS, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/ssl/cert.pem",                  // Alpine, macOS, BSDs
];

/// The TLS settings every outgoing client uses, read once.
pub fn config() -> TlsConfig {
    static CONFIG: OnceLock<TlsConfig> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = system_roots();
            if roots.is_empty() {
                eprintln!(
                    "event=tls_roots_missing effect=https_fails hint=\"install ca-certificates or set SSL_CERT_FILE\""
                );
            }
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .root_certs(RootCerts::Specific(Arc::new(roots)))
                .build()
        })
        .clone()
}

fn system_roots() -> Vec<Certificate<'static>> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    from_env
        .iter()
        .map(String::as_str)
        .chain(BUNDLES.iter().copied())
        .find_map(|path| {
            let pem = std::fs::read(path).ok()?;
            let certs = parse(&pem);
            (!certs.is_empty()).then_some(certs)
        })
        .unwrap_or_default()
}

/// The certificates in a PEM bundle; anything else in it is skipped.
fn parse(pem: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_yield_their_certificates_and_nothing_else() {
        assert!(parse(b"").is_empty());
        assert!(
            parse(b"not a certificate\n-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n")
                .is_empty()
        );
        // This machine's bundle, when it has one, parses into many roots.
        if let Some(pem) = BUNDLES.iter().find_map(|p| std::fs::read(p).ok()) {
            assert!(parse(&pem).len() > 50);
        }
    }
}
