//! The flags that say where the overlay networks' store is and how to log in to it, shared by
//! `net create --driver overlay`, `net rm --cluster`, `node join` and `node leave`: `--store`
//! (`etcd://[USER:PASSWORD@]HOST:PORT,...`) and, for etcd over TLS, `--store-ca`,
//! `--store-cert` and `--store-key` (etcdctl's `--cacert`, `--cert`, `--key`). Each has a
//! `BERTH_STORE*` variable; their values never show in `--help`.

use std::path::PathBuf;

use berth_overlay::{StoreOptions, StoreTls};

/// The store when none is given (`--store` or `BERTH_STORE`).
pub const DEFAULT_STORE: &str = "etcd://127.0.0.1:2379";

/// Where the store is, and the TLS files for it.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Overlay store: etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]
    #[arg(long, env = "BERTH_STORE", hide_env_values = true, default_value = DEFAULT_STORE)]
    pub store: String,
    /// Overlay store over TLS: PEM file of the CA that signed the etcd members' certificates
    #[arg(long, env = "BERTH_STORE_CA", value_name = "FILE")]
    pub store_ca: Option<PathBuf>,
    /// This host's client certificate for etcd (PEM; with --store-key and --store-ca)
    #[arg(long, env = "BERTH_STORE_CERT", value_name = "FILE")]
    pub store_cert: Option<PathBuf>,
    /// The key of --store-cert (PEM)
    #[arg(long, env = "BERTH_STORE_KEY", value_name = "FILE")]
    pub store_key: Option<PathBuf>,
}

impl StoreArgs {
    /// The store options these flags give.
    pub fn options(&self) -> anyhow::Result<StoreOptions> {
        let opts = StoreOptions::from_url(&self.store)?;
        let identity = match (&self.store_cert, &self.store_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => anyhow::bail!("--store-cert and --store-key go together"),
        };
        match (&self.store_ca, identity) {
            (Some(ca), identity) => Ok(opts.with_tls(StoreTls {
                ca: ca.clone(),
                identity,
            })),
            (None, None) => Ok(opts),
            (None, Some(_)) => {
                anyhow::bail!("--store-cert needs --store-ca, the CA of the etcd members")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> StoreArgs {
        StoreArgs {
            store: "etcd://10.0.0.5:2379".into(),
            store_ca: ca.map(Into::into),
            store_cert: cert.map(Into::into),
            store_key: key.map(Into::into),
        }
    }

    #[test]
    fn tls_flags_turn_tls_on_and_must_come_in_working_sets() {
        let plain = args(None, None, None).options().unwrap();
        assert_eq!(plain.endpoints(), ["http://10.0.0.5:2379"]);
        assert_eq!(plain.tls, None);
        let o = args(Some("/ca.pem"), Some("/c.pem"), Some("/k.pem"))
            .options()
            .unwrap();
        assert_eq!(
            o.tls,
            Some(StoreTls {
                ca: "/ca.pem".into(),
                identity: Some(("/c.pem".into(), "/k.pem".into())),
            })
        );
        assert_eq!(o.endpoints(), ["https://10.0.0.5:2379"]);
        let o = args(Some("/ca.pem"), None, None).options().unwrap();
        assert_eq!(o.tls.unwrap().identity, None);
        for bad in [
            args(Some("/ca.pem"), Some("/c.pem"), None),
            args(None, None, Some("/k.pem")),
            args(None, Some("/c.pem"), Some("/k.pem")),
        ] {
            assert!(bad.options().is_err(), "{bad:?}");
        }
        #[derive(clap::Parser)]
        struct Cmd {
            #[command(flatten)]
            store: StoreArgs,
        }
        let none = <Cmd as clap::Parser>::try_parse_from(["berth"]).unwrap();
        let default = none.store.options().unwrap();
        assert_eq!(default.endpoints(), ["http://127.0.0.1:2379"]);
    }
}
