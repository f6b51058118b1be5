//! The images list with dockerd's filters (`docker images --filter`): `dangling`,
//! `reference` (shell patterns matched against `NAME:TAG` and `NAME`, as Go's `path.Match`),
//! `label`, `before` and `since` (images created strictly before or after a named image).
//! One entry per image, newest first, with the tags that passed the reference filter.

use std::collections::BTreeMap;

use serde::Serialize;

use super::prune::label_matches;
use super::{ImageError, ImageRef, ImageStore};
use crate::clock::parse_rfc3339_nanos;
use crate::digest::Digest;

/// What `docker images --filter` asks for; empty lists filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// `dangling=true`: only untagged images; `false`: only tagged ones.
    pub dangling: Option<bool>,
    /// `reference` patterns; a tag passes if any matches.
    pub references: Vec<String>,
    /// `label` filters (`KEY` or `KEY=VALUE`), all must match.
    pub labels: Vec<String>,
    /// `before`: image names or ids; only images created before all of them.
    pub before: Vec<String>,
    /// `since`: image names or ids; only images created after all of them.
    pub since: Vec<String>,
}

/// One image of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedImage {
    /// Its id.
    pub id: Digest,
    /// Its tags (`NAME:TAG`) that passed the filter; empty for an untagged image.
    pub tags: Vec<String>,
    /// Creation time, RFC 3339.
    pub created: Option<String>,
    /// Bytes of regular-file content in all layers.
    pub size: u64,
    /// The labels of its config.
    pub labels: BTreeMap<String, String>,
    /// `REPO@sha256:...` of its registry copies.
    pub repo_digests: Vec<String>,
}

/// A pattern that is not one Go's `path.Match` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

impl ImageStore {
    /// The images `f` selects, newest first. An unknown `before`/`since` image is
    /// [`ImageError::NotFound`]; a malformed reference pattern [`ImageError::InvalidReference`].
    pub fn list_filtered(&self, f: &ListFilter) -> Result<Vec<ListedImage>, ImageError> {
        let state = self.read_state()?;
        let created_of = |name: &String| -> Result<Option<i128>, ImageError> {
            let id = state.resolve(name)?;
            Ok(state
                .images
                .get(&id)
                .and_then(|r| r.created.as_deref())
                .and_then(parse_rfc3339_nanos))
        };
        let mut before: Option<i128> = None;
        for b in &f.before {
            before = min_some(before, created_of(b)?);
        }
        let mut since: Option<i128> = None;
        for s in &f.since {
            since = since.max(created_of(s)?);
        }
        let mut out = Vec::new();
        for rec in state.images.values() {
            let created = rec.created.as_deref().and_then(parse_rfc3339_nanos);
            if before.is_some_and(|b| created.is_none_or(|c| c >= b))
                || since.is_some_and(|s| created.is_none_or(|c| c <= s))
            {
                continue;
            }
            let labels = self.labels(&rec.id);
            if !f.labels.iter().all(|l| label_matches(&labels, l)) {
                continue;
            }
            let all_tags = state.tags_of(&rec.id);
            let mut tags = Vec::new();
            for t in &all_tags {
                if f.references.is_empty() || any_matches(&f.references, t)? {
                    tags.push(t.to_string());
                }
            }
            let dangling = all_tags.is_empty();
            let skip = match f.dangling {
                Some(true) => !dangling,
                Some(false) => dangling,
                None => false,
            } || (!f.references.is_empty() && tags.is_empty());
            if skip {
                continue;
            }
            out.push(ListedImage {
                id: rec.id.clone(),
                tags,
                created: rec.created.clone(),
                size: rec.size,
                labels,
                repo_digests: rec.repo_digests.clone(),
            });
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.created.as_deref().and_then(parse_rfc3339_nanos)));
        Ok(out)
    }
}

fn min_some(a: Option<i128>, b: Option<i128>) -> Option<i128> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether any pattern matches the tag as `NAME:TAG` or as `NAME` (dockerd's `FamiliarMatch`).
fn any_matches(patterns: &[String], tag: &ImageRef) -> Result<bool, ImageError> {
    for p in patterns {
        let bad = |_| ImageError::InvalidReference {
            reference: p.clone(),
            reason: "syntax error in pattern",
        };
        if glob_match(p, &tag.to_string()).map_err(bad)?
            || glob_match(p, tag.repository()).map_err(bad)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `path.Match`: `*` is any run of non-`/` characters, `?` one non-`/` character,
/// `[...]` a class (`[^...]` negated, `a-z` ranges), `\` escapes the next character.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Check the whole pattern's syntax first, as Go reports a bad pattern even after a mismatch.
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '[' => i = class_end(&p, i)?,
            '\\' if i + 1 >= p.len() => return Err(BadPattern),
            '\\' => i += 2,
            _ => i += 1,
        }
    }
    Ok(match_from(&p, &n))
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let Some(&c) = p.first() else {
        return n.is_empty();
    };
    match c {
        '*' => (0..=n.len())
            .take_while(|&k| k == 0 || n[k - 1] != '/')
            .any(|k| match_from(&p[1..], &n[k..])),
        '?' => n.first().is_some_and(|&x| x != '/') && match_from(&p[1..], &n[1..]),
        '[' => {
            let end = class_end(p, 0).unwrap_or(p.len());
            n.first()
                .is_some_and(|&x| x != '/' && class_has(&p[1..end - 1], x))
                && match_from(&p[end..], &n[1..])
        }
        '\\' => n.first() == p.get(1) && match_from(&p[2..], &n[1..]),
        _ => n.first() == Some(&c) && match_from(&p[1..], &n[1..]),
    }
}

/// The index just past the `]` closing the class that starts at `start`.
fn class_end(p: &[char], start: usize) -> Result<usize, BadPattern> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        match p.get(i) {
            None => return Err(BadPattern),
            Some(']') if !first => return Ok(i + 1),
            Some(']') => return Err(BadPattern),
            Some('\\') => i += 2,
            Some('-') => return Err(BadPattern),
            Some(_) => i += 1,
        }
        if p.get(i) == Some(&'-') {
            match p.get(i + 1) {
                None | Some(']') => return Err(BadPattern),
                Some('\\') => i += 3,
                Some(_) => i += 2,
            }
        }
        first = false;
    }
}

/// Whether `x` is in the class body (without the brackets).
fn class_has(body: &[char], x: char) -> bool {
    let (negated, body) = match body.first() {
        Some('^') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut found = false;
    let mut i = 0;
    while i < body.len() {
        let mut lo = body[i];
        if lo == '\\' {
            i += 1;
            lo = body.get(i).copied().unwrap_or('\\');
        }
        i += 1;
        let mut hi = lo;
        if body.get(i) == Some(&'-') {
            i += 1;
            hi = body.get(i).copied().unwrap_or(lo);
            if hi == '\\' {
                i += 1;
                hi = body.get(i).copied().unwrap_or(lo);
            }
            i += 1;
        }
        found |= lo <= x && x <= hi;
    }
    found != negated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_go_path_match() {
        let m = |p, n| glob_match(p, n).unwrap();
        assert!(m("bb", "bb"));
        assert!(m("b*", "bb:latest"));
        assert!(m("*:v1", "app:v1"));
        assert!(!m("*", "dk/app"));
        assert!(m("dk/*", "dk/app"));
        assert!(m("a?p", "app"));
        assert!(m("[a-c]pp", "bpp") && !m("[^a-c]pp", "bpp"));
        assert!(m("a\\*", "a*") && !m("a\\*", "ab"));
        assert!(!m("bb", "bbb"));
        assert_eq!(glob_match("[", "x"), Err(BadPattern));
        assert_eq!(glob_match("a\\", "a"), Err(BadPattern));
        assert_eq!(glob_match("x[]", "y"), Err(BadPattern));
    }

    #[test]
    fn reference_patterns_match_name_and_tag_or_name() {
        let t = ImageRef::parse("dk/app:v1").unwrap();
        let pats = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(any_matches(&pats(&["dk/app"]), &t).unwrap());
        assert!(any_matches(&pats(&["dk/*:v1"]), &t).unwrap());
        assert!(!any_matches(&pats(&["dk/app:v2", "other"]), &t).unwrap());
        assert!(any_matches(&pats(&["["]), &t).is_err());
    }
}
