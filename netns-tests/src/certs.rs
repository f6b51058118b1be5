//! Throwaway certificates for TLS tests, made with the `openssl` command: a self-signed CA
//! and certificates it signs for servers (an IP address as subject alternative name) and for
//! clients. Everything is written to a test's temp dir and lives 2 days.

use std::path::Path;
use std::process::Command;

/// Runs `openssl ARGS` in `dir`; its stdout, or a panic with its stderr.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A self-signed RSA certificate for `cn` (2 days), its key and certificate written to `dir`.
pub fn self_signed(dir: &Path, cn: &str, key: &str, cert: &str) {
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subj,
            "-keyout", key, "-out", cert,
        ],
    );
}

/// A test CA in `dir`: `ca.key` and `ca.crt`.
pub fn ca(dir: &Path) {
    self_signed(dir, "berth test CA", "ca.key", "ca.crt");
}

/// A server certificate for `ip`, signed by the CA in `dir`: `NAME.key` and `NAME.crt`.
pub fn server(dir: &Path, name: &str, ip: &str) {
    signed(
        dir,
        name,
        &format!("berth test {name}"),
        &format!(
            "subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    );
}

/// A client certificate for `cn`, signed by the CA in `dir`: `NAME.key` and `NAME.crt`.
pub fn client(dir: &Path, name: &str, cn: &str) {
    signed(
        dir,
        name,
        cn,
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
}

/// `NAME.key` and `NAME.crt` for `cn`, signed by the CA in `dir` with the extensions `ext`.
fn signed(dir: &Path, name: &str, cn: &str, ext: &str) {
    let (key, csr, crt, cnf) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.cnf"),
    );
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", &subj, "-keyout", &key, "-out", &csr,
        ],
    );
    std::fs::write(dir.join(&cnf), ext).expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &cnf,
            "-out",
            &crt,
        ],
    );
}
