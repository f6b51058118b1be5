//! How an error reads for a person: the anyhow context chain joined with `: `, skipping a
//! cause the message above already ends with (library errors carry their cause both in the
//! message and as `source`, so `{:#}` alone would say it twice). The CLI, the shim and
//! berthd all report errors this way.

/// `import t.tgz: read blob content: incomplete deflate stream`.
pub fn error_report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::other("incomplete deflate stream");
        let lib = crate::image::ImageError::Read {
            what: "blob content",
            source: io,
        };
        let e = anyhow::Error::from(lib).context("import t.tgz");
        assert_eq!(
            error_report(&e),
            "import t.tgz: read blob content: incomplete deflate stream"
        );
    }
}
