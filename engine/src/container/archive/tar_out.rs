//! A path as a tar stream, its top entry named as docker's GET archive names it: the path's
//! last component, or `.` for a directory's contents (a path ending in `/.`), whose entries
//! are then `./`, `./a`, … as dockerd writes them (the docker CLI renames entries by that
//! prefix, so names are written as they are, long ones through GNU long-name entries).
//! Symlinks are archived as links, never followed below the top.

use std::fs::{self, File, Metadata};
use std::io::{self, Read as _, Write};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use tar::{EntryType, Header, HeaderMode};

use super::ArchiveError;
use super::stat::{base_name, follows_last};

/// Writes `path` as a tar to `out`, its top entry named `name` (by default docker's name
/// for it). Paths are the caller's: inside a container's root when called from
/// [`super::read`], the host's for `berth cp` to a container.
pub fn write_tar(
    path: &str,
    name: Option<&str>,
    out: &mut (dyn Write + Send),
) -> Result<(), ArchiveError> {
    let io = |op| ArchiveError::io(op, path);
    let meta = match follows_last(path) {
        true => fs::metadata(path),
        false => fs::symlink_metadata(path),
    }
    .map_err(io("stat"))?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => match base_name(path).as_str() {
            "/" => ".".to_owned(),
            n => n.to_owned(),
        },
    };
    let mut b = tar::Builder::new(out);
    append_tree(&mut b, Path::new(path), &name, &meta).map_err(io("archive"))?;
    b.into_inner()
        .and_then(|w| w.flush())
        .map_err(io("finish the archive of"))
}

/// Appends `disk` (already stat'ed as `meta`) as `name`, and a directory's entries below it.
fn append_tree<W: Write>(
    b: &mut tar::Builder<W>,
    disk: &Path,
    name: &str,
    meta: &Metadata,
) -> io::Result<()> {
    append_one(b, disk, name, meta)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mut children: Vec<_> = fs::read_dir(disk)?.collect::<Result<_, _>>()?;
    children.sort_by_key(|e| e.file_name());
    for c in children {
        let child = c.path();
        let m = fs::symlink_metadata(&child)?;
        let child_name = format!(
            "{}/{}",
            name.trim_end_matches('/'),
            c.file_name().to_string_lossy()
        );
        append_tree(b, &child, &child_name, &m)?;
    }
    Ok(())
}

/// Appends one entry with its name and link target written as given.
fn append_one<W: Write>(
    b: &mut tar::Builder<W>,
    disk: &Path,
    name: &str,
    meta: &Metadata,
) -> io::Result<()> {
    let mut h = Header::new_gnu();
    h.set_metadata_in_mode(meta, HeaderMode::Complete);
    let ft = meta.file_type();
    let mut name = name.to_owned();
    let kind = if ft.is_dir() {
        name.push('/');
        EntryType::Directory
    } else if ft.is_symlink() {
        EntryType::Symlink
    } else if ft.is_fifo() {
        EntryType::Fifo
    } else if ft.is_char_device() {
        EntryType::Char
    } else if ft.is_block_device() {
        EntryType::Block
    } else {
        EntryType::Regular
    };
    h.set_entry_type(kind);
    if matches!(kind, EntryType::Char | EntryType::Block) {
        let dev = meta.rdev();
        h.set_device_major(libc::major(dev))?;
        h.set_device_minor(libc::minor(dev))?;
    }
    if kind == EntryType::Symlink {
        let target = fs::read_link(disk)?;
        let target = target.to_string_lossy();
        long_field(
            b,
            EntryType::GNULongLink,
            target.as_bytes(),
            &mut h.as_old_mut().linkname,
        )?;
    }
    long_field(
        b,
        EntryType::GNULongName,
        name.as_bytes(),
        &mut h.as_old_mut().name,
    )?;
    if kind == EntryType::Regular {
        h.set_size(meta.len());
        h.set_cksum();
        b.append(&h, File::open(disk)?.take(meta.len()))
    } else {
        h.set_size(0);
        h.set_cksum();
        b.append(&h, io::empty())
    }
}

/// Puts `value` in the header field, preceded by a GNU long-name (or long-link) entry when
/// it does not fit.
fn long_field<W: Write>(
    b: &mut tar::Builder<W>,
    kind: EntryType,
    value: &[u8],
    field: &mut [u8],
) -> io::Result<()> {
    if value.len() > field.len() {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_mode(0o644);
        h.set_entry_type(kind);
        h.set_size(value.len() as u64 + 1);
        h.set_cksum();
        b.append(&h, value.chain(&[0u8][..]))?;
    }
    let n = value.len().min(field.len());
    field.fill(0);
    field[..n].copy_from_slice(&value[..n]);
    Ok(())
}
