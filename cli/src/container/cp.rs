//! `berth cp`: copy files between a container and the host, as `docker cp` does:
//! `berth cp CONTAINER:SRC DEST` and `berth cp SRC CONTAINER:DEST`. What lands where follows
//! docker's rules ([`plan`]): into an existing directory under the source's name, as the
//! destination's name when that does not exist yet, a directory's contents alone for a
//! source ending in `/.`. The container side goes through [`berth_engine::container::archive`]
//! (paths resolved inside the container); the two halves meet in a pipe, so nothing is
//! staged on disk.

use std::path::Path;

use anyhow::{Context as _, bail};
use berth_engine::container::archive::{self, ArchiveError, WriteOptions};

use crate::Ctx;

/// `berth cp` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive mode: keep uid and gid of what is copied
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Follow a symlink given as the source
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// CONTAINER:SRC_PATH or a host path
    pub src: String,
    /// CONTAINER:DEST_PATH or a host path
    pub dest: String,
}

/// What the destination is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// Nothing there.
    Missing,
    /// A directory.
    Dir,
    /// Anything else.
    File,
}

/// Where the copy goes: the directory to unpack into and the name the source takes there
/// (`.` to pour a directory's contents in).
pub fn plan(
    src: &str,
    src_is_dir: bool,
    dest: &str,
    now: Dest,
) -> anyhow::Result<(String, String)> {
    let contents = src.ends_with("/.");
    let trimmed = dest.trim_end_matches('/');
    let (parent, base) = match trimmed.rsplit_once('/') {
        Some(("", b)) => ("/".to_owned(), b.to_owned()),
        Some((p, b)) => (p.to_owned(), b.to_owned()),
        None => (".".to_owned(), trimmed.to_owned()),
    };
    match now {
        Dest::Dir => {
            let name = if contents {
                ".".to_owned()
            } else {
                source_name(src)
            };
            Ok((dest.to_owned(), name))
        }
        Dest::File if src_is_dir => bail!("cannot copy a directory to a file: {dest}"),
        Dest::File => Ok((parent, base)),
        Dest::Missing if !src_is_dir && dest.ends_with('/') => {
            bail!("the destination directory {dest} must exist")
        }
        Dest::Missing => Ok((parent, base)),
    }
}

/// The source's own name (its last component).
fn source_name(src: &str) -> String {
    let t = src.trim_end_matches('/');
    t.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(".")
        .to_owned()
}

/// `CONTAINER:PATH` split as docker splits it (a path starting with `/` or `.` is local).
fn split(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

/// Copies.
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let store = super::store(ctx)?;
    let eng = super::engine(ctx, &store);
    match (split(&args.src), split(&args.dest)) {
        (Some((c, src)), None) => {
            let rec = super::resolve(&eng, c)?;
            let src = absolute(src);
            let st = archive::stat(&eng, &rec, &src)?;
            let dest = args.dest.as_str();
            let (dir, name) = plan(&src, st.is_dir(), dest, host_dest(dest))?;
            let (mut rx, mut tx) = pipe()?;
            std::thread::scope(|s| {
                let reader = s.spawn(move || archive::read(&eng, &rec, &src, Some(&name), &mut tx));
                let opts = WriteOptions {
                    no_overwrite_dir_non_dir: true,
                    copy_uid_gid: args.archive,
                };
                let unpacked = archive::unpack(&dir, &mut rx, &opts);
                drop(rx);
                let read = reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("the copy thread panicked"))?;
                unpacked?;
                read.map(drop)
            })
        }
        (None, Some((c, dest))) => {
            let rec = super::resolve(&eng, c)?;
            let dest = absolute(dest);
            let mut src = args.src.clone();
            if args.follow_link {
                src = std::fs::canonicalize(&src)
                    .with_context(|| format!("follow {src}"))?
                    .display()
                    .to_string();
            }
            let src_meta =
                std::fs::symlink_metadata(&src).with_context(|| format!("stat {src}"))?;
            let now = match archive::stat(&eng, &rec, &dest) {
                Ok(st) if st.is_dir() => Dest::Dir,
                Ok(_) => Dest::File,
                Err(e) if matches!(e.downcast_ref(), Some(ArchiveError::NotFound { .. })) => {
                    Dest::Missing
                }
                Err(e) => return Err(e),
            };
            let (dir, name) = plan(&src, src_meta.is_dir(), &dest, now)?;
            let (mut rx, mut tx) = pipe()?;
            std::thread::scope(|s| {
                let writer = s.spawn(move || archive::write_tar(&src, Some(&name), &mut tx));
                let opts = WriteOptions {
                    no_overwrite_dir_non_dir: true,
                    copy_uid_gid: args.archive,
                };
                let written = archive::write(&eng, &rec, &dir, &mut rx, &opts);
                drop(rx);
                let tarred = writer
                    .join()
                    .map_err(|_| anyhow::anyhow!("the copy thread panicked"))?;
                written?;
                Ok(tarred?)
            })
        }
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
    }
}

/// A pipe's read and write ends.
fn pipe() -> anyhow::Result<(std::fs::File, std::fs::File)> {
    let (r, w) = nix::unistd::pipe().context("make a pipe")?;
    Ok((r.into(), w.into()))
}

/// What is at `dest` on the host.
fn host_dest(dest: &str) -> Dest {
    match std::fs::metadata(Path::new(dest)) {
        Ok(m) if m.is_dir() => Dest::Dir,
        Ok(_) => Dest::File,
        Err(_) => Dest::Missing,
    }
}

/// A container path made absolute (docker takes `c:etc` as `/etc`).
fn absolute(p: &str) -> String {
    match p.starts_with('/') {
        true => p.to_owned(),
        false => format!("/{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_dockers_rules() {
        let p = |s, d, dest, now| plan(s, d, dest, now).unwrap();
        assert_eq!(
            p("/etc/hosts", false, "/tmp", Dest::Dir),
            ("/tmp".into(), "hosts".into())
        );
        assert_eq!(
            p("/etc/hosts", false, "/tmp/h2", Dest::Missing),
            ("/tmp".into(), "h2".into())
        );
        assert_eq!(
            p("/etc/hosts", false, "/tmp/f", Dest::File),
            ("/tmp".into(), "f".into())
        );
        assert_eq!(
            p("/etc", true, "/tmp", Dest::Dir),
            ("/tmp".into(), "etc".into())
        );
        assert_eq!(
            p("/etc/.", true, "/tmp", Dest::Dir),
            ("/tmp".into(), ".".into())
        );
        assert_eq!(
            p("/etc", true, "/tmp/new", Dest::Missing),
            ("/tmp".into(), "new".into())
        );
        assert_eq!(
            p("etc", true, "new", Dest::Missing),
            (".".into(), "new".into())
        );
        assert!(plan("/etc", true, "/tmp/f", Dest::File).is_err());
        assert!(plan("/etc/hosts", false, "/tmp/nodir/", Dest::Missing).is_err());
    }

    #[test]
    fn container_arguments_split_as_docker_splits_them() {
        assert_eq!(split("web:/etc"), Some(("web", "/etc")));
        assert_eq!(split("/a:b"), None);
        assert_eq!(split("./a:b"), None);
        assert_eq!(split("plain"), None);
        assert_eq!(split(":x"), None);
    }
}
