//! TLS as a runtime sets it up (SNI, the platform's roots), except that the certificate chain
//! is kept whether or not it verifies: a TLS-inspecting gateway is named by who issued what it
//! sent, so the probe must see the certificate a runtime would refuse.

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned};

use super::conn::{ms_since, outcome_of};
use super::result::{Cert, ChainCert, Outcome, Tls};
use crate::classify::rules::Rules;
use crate::dissect::tls::alert::AlertMessage;

pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// The roots a runtime on this host trusts, and `--ca-file`'s.
pub struct Trust {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    pub roots: usize,
}

impl Trust {
    /// The platform's roots (rustls-native-certs: the system's CA bundle) plus `ca_files`.
    pub fn load(ca_files: &[std::path::PathBuf]) -> Result<Trust, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        for path in ca_files {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("--ca-file {}: not PEM certificates: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("--ca-file {}: no CA certificate in it", path.display()));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let count = roots.len();
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("no trusted root certificates ({e}): install ca-certificates or give --ca-file"))?;
        Ok(Trust { provider, verifier, roots: count })
    }

    fn config(&self, recorder: Arc<Recorder>) -> Result<ClientConfig, rustls::Error> {
        let mut c = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(recorder)
            .with_no_client_auth();
        // The probe speaks HTTP/1.1 on the connection it tests: ALPN says so.
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(c)
    }
}

/// Verifies as webpki does, remembers the chain and the verdict, and lets the handshake go on.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    /// The chain as sent (leaf first) and whether it verified.
    seen: Mutex<Option<Seen>>,
}

type Seen = (Vec<CertificateDer<'static>>, Result<(), String>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Ok(mut seen) = self.seen.lock() {
            let chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
            *seen = Some((chain, verdict));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The handshake on `tcp`, with `host` as SNI; the stream when it completed.
pub fn handshake(trust: &Trust, rules: &Rules, host: &str, mut tcp: TcpStream) -> (Tls, Option<TlsStream>) {
    let started = Instant::now();
    let mut tls = Tls {
        outcome: Outcome::Ok,
        ms: 0.0,
        version: None,
        alpn: None,
        verified: false,
        verify_error: None,
        certificate: None,
        chain: Vec::new(),
        alert: None,
        error: None,
    };
    let recorder = Arc::new(Recorder { inner: trust.verifier.clone(), seen: Mutex::new(None) });
    let setup = ServerName::try_from(host.to_string())
        .map_err(|e| rustls::Error::General(e.to_string()))
        .and_then(|name| ClientConnection::new(Arc::new(trust.config(recorder.clone())?), name));
    let mut conn = match setup {
        Ok(c) => c,
        Err(e) => {
            (tls.outcome, tls.error) = (Outcome::Error, Some(e.to_string()));
            return (tls, None);
        }
    };
    let done = drive(&mut conn, &mut tcp);
    tls.ms = ms_since(started);
    if let Some((chain, verdict)) = recorder.seen.lock().ok().and_then(|mut s| s.take()) {
        tls.certificate = chain.first().and_then(|leaf| describe(leaf, rules, host));
        tls.chain = chain
            .iter()
            .filter_map(|c| crate::dissect::cert::parse_certificate(c.as_ref()))
            .map(|c| ChainCert { subject: c.subject, issuer: c.issuer })
            .collect();
        tls.verified = verdict.is_ok();
        tls.verify_error = verdict.err();
    }
    if let Err(e) = done {
        fail(&mut tls, e);
        return (tls, None);
    }
    tls.version = conn.protocol_version().map(|v| crate::format::tls_version_name(u16::from(v)));
    tls.alpn = conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    if !tls.verified {
        tls.outcome = Outcome::Untrusted;
    }
    (tls, Some(StreamOwned::new(conn, tcp)))
}

fn drive(conn: &mut ClientConnection, tcp: &mut TcpStream) -> std::io::Result<()> {
    while conn.is_handshaking() {
        conn.complete_io(tcp)?;
    }
    Ok(())
}

/// Names what ended a handshake: a reset, a silent close, an alert, the deadline.
fn fail(tls: &mut Tls, e: std::io::Error) {
    let alert = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).and_then(|r| match r {
        rustls::Error::AlertReceived(a) => Some(u8::from(*a)),
        _ => None,
    });
    tls.outcome = match alert {
        Some(code) => {
            tls.alert = Some(AlertMessage { level: 2, description: code }.description_name().to_string());
            Outcome::Alert
        }
        None => outcome_of(&e),
    };
    tls.error = Some(e.to_string());
}

fn describe(der: &CertificateDer<'_>, rules: &Rules, host: &str) -> Option<Cert> {
    let c = crate::dissect::cert::parse_certificate(der.as_ref())?;
    let provider = rules.classify(host).provider;
    let issuer_expected =
        provider.as_deref().and_then(|p| rules.issuer_expected(p, c.issuer_cn.as_deref(), c.issuer_org.as_deref()));
    Some(Cert {
        subject_cn: c.subject_cn,
        issuer: c.issuer,
        issuer_cn: c.issuer_cn,
        issuer_o: c.issuer_org,
        san: c.san,
        issuer_expected,
    })
}
