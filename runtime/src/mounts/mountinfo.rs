//! This mount namespace's mount points, from `/proc/self/mountinfo` (field 5, with the
//! kernel's octal escapes undone). Used to find what a container without a mount namespace of
//! its own left below its rootfs, and by the engine to see whether a volume's device is
//! mounted.

use std::path::PathBuf;

/// Where the kernel lists this process's mounts.
pub const PATH: &str = "/proc/self/mountinfo";

/// Every mount point, in mount order (a point with stacked mounts is listed once per mount).
pub fn mount_points() -> std::io::Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string(PATH)?;
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect())
}

/// mountinfo escapes space, tab, newline and backslash as octal `\NNN`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (b[i], oct) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("/a\\040b/c\\011d"), "/a b/c\td");
        assert_eq!(unescape("/back\\134slash"), "/back\\slash");
        // A backslash not followed by three octal digits is kept as it is.
        assert_eq!(unescape("/x\\9y\\"), "/x\\9y\\");
    }
}
