//! `--tmpfs DEST[:OPTIONS]` (Docker's `HostConfig.Tmpfs`): a fresh tmpfs at `DEST` in the
//! container, gone with it. Options are mount(8)'s tmpfs options (`size=64m`, `mode=1777`,
//! `uid=`, `gid=`, `nr_inodes=`) and flags (`ro`, `exec`, `suid`, `dev`, …) over Docker's
//! defaults `noexec,nosuid,nodev`: a flag replaces its opposite, a `key=value` an earlier one.

use std::collections::BTreeMap;

use oci_spec::runtime::{Mount, MountBuilder};

use super::ContainerError;

/// Docker's default options for a tmpfs mount.
const DEFAULTS: &[&str] = &["noexec", "nosuid", "nodev"];

/// Flags and their opposites.
const FLAGS: &[(&str, &str)] = &[
    ("exec", "noexec"),
    ("suid", "nosuid"),
    ("dev", "nodev"),
    ("ro", "rw"),
    ("atime", "noatime"),
    ("diratime", "nodiratime"),
    ("strictatime", "nostrictatime"),
    ("relatime", "norelatime"),
    ("sync", "async"),
    ("dirsync", "dirsync"),
    ("mand", "nomand"),
];

/// `key=value` options tmpfs takes.
const KEYS: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "huge",
    "mpol",
];

/// `DEST[:OPTIONS]` as the CLI takes it.
pub fn parse_flag(s: &str) -> Result<(String, String), ContainerError> {
    let (dest, opts) = s.split_once(':').unwrap_or((s, ""));
    check(dest, opts)?;
    Ok((dest.to_owned(), opts.to_owned()))
}

/// Checks every tmpfs of a container: absolute destinations other than `/`, known options,
/// none where a bind or volume already goes (`taken`).
pub fn validate(tmpfs: &BTreeMap<String, String>, taken: &[String]) -> Result<(), ContainerError> {
    for (dest, opts) in tmpfs {
        check(dest, opts)?;
        let clean = dest.trim_end_matches('/');
        if taken.iter().any(|t| t.trim_end_matches('/') == clean) {
            return Err(bad(dest, "Duplicate mount point"));
        }
    }
    Ok(())
}

fn check(dest: &str, opts: &str) -> Result<(), ContainerError> {
    if !dest.starts_with('/') || dest.trim_end_matches('/').is_empty() {
        return Err(bad(
            dest,
            "the destination must be an absolute path other than /",
        ));
    }
    if dest.split('/').any(|c| c == "..") {
        return Err(bad(dest, "the destination may not contain .."));
    }
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        let known = match o.split_once('=') {
            Some((k, _)) => KEYS.contains(&k),
            None => FLAGS.iter().any(|(a, b)| o == *a || o == *b),
        };
        if !known {
            return Err(bad(
                &format!("{dest}:{opts}"),
                &format!("unknown tmpfs option {o:?}"),
            ));
        }
    }
    Ok(())
}

fn bad(value: &str, reason: &str) -> ContainerError {
    ContainerError::BadArg {
        flag: "--tmpfs",
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Docker's defaults with `opts` merged over them.
pub fn options(opts: &str) -> Vec<String> {
    let mut out: Vec<String> = DEFAULTS.iter().map(|s| (*s).to_owned()).collect();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o.split_once('=') {
            Some((k, _)) => out.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k)),
            None => {
                if let Some((a, b)) = FLAGS.iter().find(|(a, b)| o == *a || o == *b) {
                    out.retain(|e| e != a && e != b);
                }
            }
        }
        out.push(o.to_owned());
    }
    out
}

/// The runtime mount for one tmpfs.
pub fn mount(dest: &str, opts: &str) -> Result<Mount, ContainerError> {
    MountBuilder::default()
        .destination(dest)
        .typ("tmpfs")
        .source("tmpfs")
        .options(options(opts))
        .build()
        .map_err(|e| bad(dest, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_merge_over_dockers_defaults() {
        assert_eq!(options(""), ["noexec", "nosuid", "nodev"]);
        assert_eq!(
            options("exec,size=64m"),
            ["nosuid", "nodev", "exec", "size=64m"]
        );
        assert_eq!(
            options("size=1m,mode=1777,size=2m"),
            ["noexec", "nosuid", "nodev", "mode=1777", "size=2m"]
        );
    }

    #[test]
    fn flags_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_flag("/run:size=64m").unwrap(),
            ("/run".to_owned(), "size=64m".to_owned())
        );
        assert_eq!(parse_flag("/t").unwrap(), ("/t".to_owned(), String::new()));
        assert!(parse_flag("rel").is_err());
        assert!(parse_flag("/").is_err());
        assert!(parse_flag("/a/../b").is_err());
        assert!(parse_flag("/t:bogus=1").is_err());
        let m: BTreeMap<String, String> = [("/data".to_owned(), String::new())].into();
        assert!(validate(&m, &["/data/".to_owned()]).is_err());
        assert!(validate(&m, &["/other".to_owned()]).is_ok());
    }
}
