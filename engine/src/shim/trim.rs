//! Giving back the shim's setup code pages. Starting a container (store, CNI, the OCI
//! runtime) touches megabytes of the executable that the shim never runs again while it only
//! relays output and waits; those pages stay mapped and count in its RSS. Once the container
//! runs, [`release_setup_pages`] drops the page-table entries of the executable's read-only,
//! never-written segments (its code and read-only data) with `MADV_DONTNEED`; the pages stay
//! in the page cache and come back on the next touch, so only what the relay loop and the
//! teardown use is faulted in again. Writable and relocated (RELRO) segments are left alone.

use std::path::Path;

/// One mapping from `/proc/self/maps`.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
    perms: String,
    offset: u64,
    path: String,
}

fn parse_maps(maps: &str) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms, offset) = (f.next()?, f.next()?, f.next()?);
            let path = f.nth(2).unwrap_or("").to_owned();
            let (s, e) = range.split_once('-')?;
            Some(Mapping {
                start: usize::from_str_radix(s, 16).ok()?,
                end: usize::from_str_radix(e, 16).ok()?,
                perms: perms.to_owned(),
                offset: u64::from_str_radix(offset, 16).ok()?,
                path,
            })
        })
        .collect()
}

/// The mappings of `exe` that are safe to drop: its code (`r-xp`) and the read-only segment
/// at file offset 0 (headers and `.rodata`, which nothing writes). The RELRO segment is
/// `r--p` too, but at a later offset, and holds relocated (private, dirty) data.
fn droppable<'a>(maps: &'a [Mapping], exe: &str) -> impl Iterator<Item = &'a Mapping> + 'a {
    let exe = exe.to_owned();
    maps.iter().filter(move |m| {
        m.path == exe && (m.perms == "r-xp" || (m.perms == "r--p" && m.offset == 0))
    })
}

/// Drops the executable's clean code and read-only data pages from this process's page
/// tables. Best effort: any failure leaves the pages mapped.
pub fn release_setup_pages() {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(maps) = std::fs::read_to_string(Path::new("/proc/self/maps")) else {
        return;
    };
    let maps = parse_maps(&maps);
    for m in droppable(&maps, &exe.to_string_lossy()) {
        // SAFETY: the range is a whole private, file-backed mapping of our executable that is
        // never written (code, or read-only data before the code); MADV_DONTNEED on it only
        // drops page-table entries, and the next access faults the same file contents back.
        let rc = unsafe {
            libc::madvise(
                m.start as *mut libc::c_void,
                m.end - m.start,
                libc::MADV_DONTNEED,
            )
        };
        if rc != 0 {
            tracing::debug!(start = m.start, "madvise(MADV_DONTNEED) failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
5571c95fe000-5571c9700000 r--p 00000000 fe:01 123 /usr/bin/berth-shim
5571c9700000-5571c9b00000 r-xp 00102000 fe:01 123 /usr/bin/berth-shim
5571c9b00000-5571c9b40000 r--p 00502000 fe:01 123 /usr/bin/berth-shim
5571c9b40000-5571c9b42000 rw-p 00542000 fe:01 123 /usr/bin/berth-shim
7f0000000000-7f0000100000 r-xp 00028000 fe:01 9 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffcef19a000-7ffcef1bb000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn only_the_executables_code_and_leading_rodata_are_dropped() {
        let maps = parse_maps(MAPS);
        assert_eq!(maps.len(), 6);
        let d: Vec<(usize, &str)> = droppable(&maps, "/usr/bin/berth-shim")
            .map(|m| (m.start, m.perms.as_str()))
            .collect();
        assert_eq!(d, [(0x5571c95fe000, "r--p"), (0x5571c9700000, "r-xp")]);
    }

    #[test]
    fn a_line_without_a_path_parses() {
        let maps = parse_maps("7f00-7f10 rw-p 00000000 00:00 0\n");
        assert_eq!(maps[0].path, "");
        assert_eq!(maps[0].end, 0x7f10);
    }
}
