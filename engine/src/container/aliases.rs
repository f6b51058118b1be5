//! `--network-alias` and `net connect --alias` (Docker's `EndpointSettings.Aliases`): extra
//! names a container answers to in the DNS of a user network, kept by network name in
//! `HostConfig.NetworkAliases`. This module only checks them (DNS names, user networks only,
//! as dockerd has it); storing them is the business of [`super::create`] and
//! [`super::connect`], answering them that of the user networks' DNS server.

use super::ContainerError;
use super::record::HostConfig;
use crate::network::DEFAULT_NETWORK;

/// Whether `network` is user-defined: not `host`, `none` or the default `bridge`, which have
/// no DNS of their own and so no aliases.
pub fn is_user_network(network: &str) -> bool {
    !matches!(network, "host" | "none" | DEFAULT_NETWORK)
}

/// Whether `name` is a DNS name: labels of letters, digits and `-`, 1 to 63 bytes each,
/// joined by `.`, at most 253 bytes in all.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Checks the aliases asked for on `network` (`flag` names the option in the error): the
/// network is user-defined and every alias is a DNS name.
pub fn check(flag: &'static str, network: &str, aliases: &[String]) -> Result<(), ContainerError> {
    if aliases.is_empty() {
        return Ok(());
    }
    if !is_user_network(network) {
        return Err(ContainerError::AliasNotSupported {
            network: network.to_owned(),
        });
    }
    match aliases.iter().find(|a| !is_dns_name(a)) {
        Some(a) => Err(ContainerError::BadArg {
            flag,
            value: a.clone(),
            reason: "an alias is a DNS name: letters, digits, '-' and '.', labels of 1 to 63 \
                     characters, 253 in all"
                .into(),
        }),
        None => Ok(()),
    }
}

/// Checks the aliases of a container being created: each network that has some is one of
/// the container's, and [`check`] passes for it.
pub fn validate(h: &HostConfig) -> Result<(), ContainerError> {
    for (network, aliases) in &h.network_aliases {
        check("--network-alias", network, aliases)?;
        if !aliases.is_empty() && !h.networks.contains(network) {
            return Err(ContainerError::BadArg {
                flag: "--network-alias",
                value: aliases.join(","),
                reason: format!("the container is not on network {network}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| (*s).to_owned()).collect()
    }

    fn host(networks: &[&str], aliases: &[(&str, &[&str])]) -> HostConfig {
        HostConfig {
            networks: v(networks),
            network_aliases: aliases
                .iter()
                .map(|(n, a)| ((*n).to_owned(), v(a)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn dns_names_are_labels_of_letters_digits_and_dashes() {
        for ok in [
            "db",
            "web-1",
            "a.b.c",
            "0abc",
            &"a".repeat(63),
            "e7f1c2d3a4b5",
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ]
        .join(".");
        assert_eq!(long.len(), 254);
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "under_score",
            "sp ace",
            "ünï",
            &"a".repeat(64),
            &long,
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
        assert!(is_dns_name(&long[1..]), "253 bytes are allowed");
    }

    #[test]
    fn aliases_go_only_to_user_networks() {
        assert!(check("--alias", "web", &v(&["db", "db.internal"])).is_ok());
        for n in ["bridge", "host", "none"] {
            assert!(
                check("--alias", n, &[]).is_ok(),
                "no aliases, nothing to refuse"
            );
            let e = check("--alias", n, &v(&["db"])).unwrap_err().to_string();
            assert!(
                e.contains("network-scoped aliases are only supported for user-defined networks"),
                "{e}"
            );
            assert!(e.contains(n), "{e}");
        }
        let e = check("--alias", "web", &v(&["ok", "not_ok"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid --alias \"not_ok\": an alias is a DNS name"),
            "{e}"
        );
    }

    #[test]
    fn a_new_containers_aliases_are_checked_against_its_networks() {
        assert!(validate(&host(&["bridge"], &[])).is_ok());
        assert!(validate(&host(&["web", "db"], &[("web", &["a"]), ("db", &["b"])])).is_ok());
        let e = validate(&host(&["bridge"], &[("bridge", &["a"])])).unwrap_err();
        assert!(matches!(e, ContainerError::AliasNotSupported { .. }), "{e}");
        let e = validate(&host(&["web"], &[("other", &["a"])]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not on network other"), "{e}");
        let e = validate(&host(&["web"], &[("web", &["a b"])]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid --network-alias \"a b\""), "{e}");
    }
}
