//! The query string: parameters by name (the last one wins), booleans as `1`/`0` or
//! `true`/`false`, numbers, and the `filters` JSON (`{"name":["web"]}`, or the older
//! `{"name":{"web":true}}`).

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

/// Decoded query parameters.
#[derive(Debug, Default, Clone)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    /// Parses the raw query (`None`: no parameters).
    pub fn parse(raw: Option<&str>) -> Self {
        let map = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(map)
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean (absent, empty, `0`, `false`, `no`: false).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"))
    }

    /// A number, if given; a malformed one is a 400.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }

    /// The `filters` parameter: values by filter name.
    pub fn filters(&self) -> ApiResult<BTreeMap<String, Vec<String>>> {
        let Some(raw) = self.get("filters").filter(|v| !v.is_empty()) else {
            return Ok(BTreeMap::new());
        };
        let v: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid filters: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| ApiError::bad_request("invalid filters: not an object"))?;
        let mut out = BTreeMap::new();
        for (k, vals) in obj {
            let list: Vec<String> = match vals {
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                serde_json::Value::Object(o) => o
                    .iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => return Err(ApiError::bad_request(format!("invalid filter {k:?}"))),
            };
            out.insert(k.clone(), list);
        }
        Ok(out)
    }
}

/// dockerd's rule for the values of one filter: they are alternatives, except `label`'s,
/// which must all hold (`--filter label=a --filter label=b` is both).
pub fn filter_values(key: &str, vals: &[String], mut f: impl FnMut(&String) -> bool) -> bool {
    match key {
        "label" => vals.iter().all(&mut f),
        _ => vals.iter().any(&mut f),
    }
}

/// Whether `labels` pass one `label` filter value: `KEY` (present) or `KEY=VALUE`.
pub fn label_matches(labels: &BTreeMap<String, String>, v: &str) -> bool {
    match v.split_once('=') {
        Some((key, val)) => labels.get(key).is_some_and(|x| x == val),
        None => labels.contains_key(v),
    }
}

/// Refuses (400) a filter not in `known`.
pub fn check_filters(filters: &BTreeMap<String, Vec<String>>, known: &[&str]) -> ApiResult<()> {
    match filters.keys().find(|k| !known.contains(&k.as_str())) {
        Some(bad) => Err(ApiError::bad_request(format!("invalid filter '{bad}'"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_numbers_and_filters_parse() {
        let q = Query::parse(Some(
            "all=1&size=false&t=5&filters=%7B%22name%22%3A%5B%22web%22%5D%2C%22status%22%3A%7B%22exited%22%3Atrue%7D%7D",
        ));
        assert!(q.flag("all") && !q.flag("size") && !q.flag("missing"));
        assert_eq!(q.number::<u64>("t").unwrap(), Some(5));
        let f = q.filters().unwrap();
        assert_eq!(f["name"], ["web"]);
        assert_eq!(f["status"], ["exited"]);
        assert!(Query::parse(Some("t=x")).number::<u64>("t").is_err());
        assert!(Query::parse(None).filters().unwrap().is_empty());
    }
}
