//! Round trips of the tar halves (outside any container: paths are the test's own).

use std::fs;

use super::ArchiveError;
use super::tar_in::{WriteOptions, unpack};
use super::tar_out::write_tar;

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("d/sub")).unwrap();
    fs::write(t.path().join("d/a"), b"alpha").unwrap();
    fs::write(t.path().join("d/sub/b"), b"beta").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", t.path().join("d/link")).unwrap();
    t
}

fn tar_of(path: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    write_tar(&path.display().to_string(), None, &mut out).unwrap();
    out
}

#[test]
fn a_directory_round_trips_under_its_name_and_links_stay_links() {
    let src = tree();
    let bytes = tar_of(&src.path().join("d"));
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().display().to_string();
    unpack(&d, &mut bytes.as_slice(), &WriteOptions::default()).unwrap();
    assert_eq!(fs::read(dst.path().join("d/sub/b")).unwrap(), b"beta");
    assert_eq!(
        fs::read_link(dst.path().join("d/link")).unwrap(),
        std::path::Path::new("/etc/passwd")
    );
}

#[test]
fn a_trailing_dot_archives_the_contents() {
    let src = tree();
    let bytes = tar_of(&src.path().join("d/."));
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().display().to_string();
    unpack(&d, &mut bytes.as_slice(), &WriteOptions::default()).unwrap();
    assert_eq!(fs::read(dst.path().join("a")).unwrap(), b"alpha");
    assert!(!dst.path().join("d").exists());
}

#[test]
fn a_file_is_not_put_where_a_directory_is_when_asked_not_to() {
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("x"), b"file").unwrap();
    let bytes = tar_of(&src.path().join("x"));
    let dst = tempfile::tempdir().unwrap();
    fs::create_dir(dst.path().join("x")).unwrap();
    let d = dst.path().display().to_string();
    let opts = WriteOptions {
        no_overwrite_dir_non_dir: true,
        ..Default::default()
    };
    let err = unpack(&d, &mut bytes.as_slice(), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::Overwrite { .. }), "{err}");
    assert!(dst.path().join("x").is_dir());
}

#[test]
fn an_entry_climbing_out_is_refused_and_nothing_written_outside() {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..7].copy_from_slice(b"../evil");
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut bytes = h.as_bytes().to_vec();
    bytes.extend_from_slice(b"evil");
    bytes.resize(bytes.len() + 508 + 1024, 0);
    let outer = tempfile::tempdir().unwrap();
    let dst = outer.path().join("dst");
    fs::create_dir(&dst).unwrap();
    let err = unpack(
        &dst.display().to_string(),
        &mut bytes.as_slice(),
        &WriteOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Escapes(_)), "{err}");
    assert!(!outer.path().join("evil").exists());
}

#[test]
fn garbage_is_a_bad_tar() {
    let dst = tempfile::tempdir().unwrap();
    let junk = vec![7u8; 1024];
    let err = unpack(
        &dst.path().display().to_string(),
        &mut junk.as_slice(),
        &WriteOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::BadTar(_)), "{err}");
}

#[test]
fn contents_are_named_with_a_dot_prefix_and_long_names_survive() {
    let src = tree();
    let long = "n".repeat(150);
    fs::write(src.path().join("d").join(&long), b"long").unwrap();
    let bytes = tar_of(&src.path().join("d/."));
    let mut ar = tar::Archive::new(bytes.as_slice());
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().all(|n| n.starts_with('.')), "{names:?}");
    let raw: Vec<String> = tar::Archive::new(bytes.as_slice())
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect();
    assert!(
        raw.contains(&"./".to_owned()) && raw.contains(&"./sub/b".to_owned()),
        "{raw:?}"
    );
    assert!(raw.contains(&format!("./{long}")), "{raw:?}");
}
