//! Certificates made at test time (rcgen, ECDSA P-256) for logship's TLS
//! tests, written as PEM files in a directory: a CA, a server certificate
//! for `localhost` and `127.0.0.1`, client certificates for
//! [`CLIENT_NAME`], and the refused cases: a server certificate from
//! another CA, one for another name, one expired.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The name in the client certificates (rsyslog's `permittedPeer`).
pub const CLIENT_NAME: &str = "client.logship.test";
/// The name of the wrong-name server certificate.
pub const WRONG_NAME: &str = "elsewhere.logship.test";

/// A directory of PEM files: `NAME.pem` (certificate) and `NAME.key`.
pub struct Pki {
    pub dir: PathBuf,
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (p, KeyPair::generate().unwrap())
}

fn leaf(names: &[&str], server: bool) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(names.clone()).unwrap();
    p.distinguished_name.push(DnType::CommonName, &names[0]);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    p
}

impl Pki {
    /// Make every certificate in `dir` (created).
    pub fn make(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        let (cap, cak) = ca("logship test CA");
        std::fs::write(pki.cert("ca"), cap.self_signed(&cak).unwrap().pem()).unwrap();
        let issuer = Issuer::new(cap, cak);
        let (op, ok) = ca("another CA");
        std::fs::write(pki.cert("other-ca"), op.self_signed(&ok).unwrap().pem()).unwrap();
        let other = Issuer::new(op, ok);
        let server = ["localhost", "127.0.0.1"];
        let mut expired = leaf(&server, true);
        expired.not_before = rcgen::date_time_ymd(2000, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2001, 1, 1);
        for (name, params, by) in [
            ("server", leaf(&server, true), &issuer),
            ("client", leaf(&[CLIENT_NAME], false), &issuer),
            ("client2", leaf(&[CLIENT_NAME], false), &issuer),
            ("wrong-ca", leaf(&server, true), &other),
            ("wrong-name", leaf(&[WRONG_NAME], true), &issuer),
            ("expired", expired, &issuer),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, by).unwrap();
            std::fs::write(pki.cert(name), cert.pem()).unwrap();
            std::fs::write(pki.key(name), key.serialize_pem()).unwrap();
        }
        pki
    }

    /// `NAME.pem`.
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    /// `NAME.key`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// The arguments giving logship the CA and the client certificate.
    pub fn client_args(&self) -> Vec<String> {
        self.tls_args(&self.cert("client"), &self.key("client"))
    }

    /// `--ca CA --cert CERT --key KEY`, with this CA.
    pub fn tls_args(&self, cert: &Path, key: &Path) -> Vec<String> {
        [
            "--ca",
            &self.s(&self.cert("ca")),
            "--cert",
            &self.s(cert),
            "--key",
            &self.s(key),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn s(&self, p: &Path) -> String {
        p.to_str().unwrap().to_string()
    }
}
