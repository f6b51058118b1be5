//! Column output as the docker CLI aligns it (Go's tabwriter with minimum width 10 and
//! padding 3; the last column is not padded), the `--format` choice and JSON printing.

use std::io::{self, Write};

use serde::Serialize;

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

pub use super::Format;

/// Writes `header` and `rows` aligned in columns.
pub fn write_table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let cols = header.len();
    let mut widths = vec![0; cols];
    let all = std::iter::once(header.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .chain(rows.iter().cloned())
        .collect::<Vec<_>>();
    for row in &all {
        for (i, cell) in row.iter().enumerate().take(cols.saturating_sub(1)) {
            widths[i] = widths[i].max((cell.chars().count() + PADDING).max(MIN_WIDTH));
        }
    }
    for row in &all {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < cols {
                let pad = widths[i] - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes `value` as JSON indented by 4 spaces (as `docker inspect`), with a newline.
pub fn write_pretty_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    value.serialize(&mut ser).map_err(io::Error::other)?;
    writeln!(out)
}

/// Writes `value` as one line of JSON.
pub fn write_json_line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_like_go_tabwriter() {
        let mut out = Vec::new();
        let rows = vec![vec!["busybox".into(), "latest".into(), "4.26MB".into()]];
        write_table(&mut out, &["REPOSITORY", "TAG", "SIZE"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "REPOSITORY   TAG       SIZE\nbusybox      latest    4.26MB\n"
        );
    }
}
