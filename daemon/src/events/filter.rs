//! Which events a `GET /events` client asked for: the `filters` as dockerd applies them. Every
//! filter given must pass. `type`, `scope`, `event` and `image` compare exactly (`event` by
//! prefix for `exec_create`, `exec_start` and `health_status`, whose actions carry a suffix);
//! `container`, `network`, `volume` and `daemon` match the actor's id or `name` attribute
//! exactly or as a prefix; every `label` (`KEY` or `KEY=VALUE`) must be among the attributes.

use std::collections::BTreeMap;

use berth_engine::events::Event;

use crate::error::ApiResult;
use crate::query::{check_filters, label_matches};

/// The filters `GET /events` knows.
const KNOWN: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// A parsed `filters` parameter.
#[derive(Debug, Default)]
pub struct EventFilter(BTreeMap<String, Vec<String>>);

impl EventFilter {
    /// Refuses (400) a filter dockerd does not know.
    pub fn new(filters: BTreeMap<String, Vec<String>>) -> ApiResult<Self> {
        check_filters(&filters, KNOWN)?;
        Ok(Self(filters))
    }

    /// Whether `ev` passes every filter.
    pub fn includes(&self, ev: &Event) -> bool {
        let name = ev.actor.attributes.get("name").map_or("", String::as_str);
        self.exact("type", ev.kind.as_str())
            && self.exact("scope", &ev.scope)
            && self.action_matches(&ev.action)
            && self.image_matches(ev)
            && ["container", "network", "volume", "daemon", "plugin", "node"]
                .iter()
                .all(|k| self.fuzzy(k, &ev.actor.id) || self.fuzzy(k, name))
            && ["service", "secret", "config"]
                .iter()
                .all(|k| !self.0.contains_key(*k))
            && self
                .values("label")
                .all(|l| label_matches(&ev.actor.attributes, l))
    }

    fn values(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0.get(key).into_iter().flatten().map(String::as_str)
    }

    /// Not given, or one value equals `s`.
    fn exact(&self, key: &str, s: &str) -> bool {
        !self.0.contains_key(key) || self.values(key).any(|v| v == s)
    }

    /// Not given, or one value equals `s` or is a prefix of it.
    fn fuzzy(&self, key: &str, s: &str) -> bool {
        !self.0.contains_key(key) || self.values(key).any(|v| !s.is_empty() && s.starts_with(v))
    }

    fn action_matches(&self, action: &str) -> bool {
        let suffixed = ["exec_create", "exec_start", "health_status"];
        match self.values("event").any(|v| suffixed.contains(&v)) {
            true => self.fuzzy("event", action),
            false => self.exact("event", action),
        }
    }

    /// The image filter against the actor id and image name, with and without their tag.
    fn image_matches(&self, ev: &Event) -> bool {
        let attr = match ev.kind {
            berth_engine::events::Kind::Image => "name",
            _ => "image",
        };
        let name = ev.actor.attributes.get(attr).map_or("", String::as_str);
        [ev.actor.id.as_str(), name]
            .into_iter()
            .flat_map(|s| [s, strip_tag(s)])
            .any(|s| self.exact("image", s))
    }
}

/// `NAME:TAG` as `NAME` (a registry port is not a tag; digests are kept).
fn strip_tag(r: &str) -> &str {
    match r.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.contains('@') => name,
        _ => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::events::{Kind, attributes};

    fn filter(pairs: &[(&str, &str)]) -> EventFilter {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        EventFilter::new(m).unwrap()
    }

    fn container(action: &str, id: &str, name: &str, image: &str) -> Event {
        let labels = [("app".to_owned(), "web".to_owned())].into();
        let attrs = attributes(&[("name", name), ("image", image)], &labels);
        Event::now(Kind::Container, action, id, attrs)
    }

    #[test]
    fn filters_match_as_dockerds_do() {
        let ev = container("start", "abc123", "web", "bb:latest");
        let net = Event::now(Kind::Network, "connect", "n1id", Default::default());
        assert!(filter(&[]).includes(&ev));
        assert!(filter(&[("type", "container")]).includes(&ev));
        assert!(!filter(&[("type", "container")]).includes(&net));
        assert!(filter(&[("type", "network"), ("type", "container")]).includes(&net));
        assert!(filter(&[("container", "web")]).includes(&ev));
        assert!(filter(&[("container", "abc")]).includes(&ev));
        assert!(!filter(&[("container", "other")]).includes(&ev));
        assert!(!filter(&[("container", "web")]).includes(&net));
        assert!(filter(&[("event", "start")]).includes(&ev));
        assert!(!filter(&[("event", "die")]).includes(&ev));
        assert!(filter(&[("image", "bb")]).includes(&ev));
        assert!(filter(&[("image", "bb:latest")]).includes(&ev));
        assert!(!filter(&[("image", "bbx")]).includes(&ev));
        assert!(filter(&[("label", "app"), ("label", "app=web")]).includes(&ev));
        assert!(!filter(&[("label", "app"), ("label", "app=db")]).includes(&ev));
        assert!(!filter(&[("service", "s")]).includes(&ev));
    }

    #[test]
    fn suffixed_actions_match_by_prefix_and_unknown_filters_are_refused() {
        let ev = container("exec_start: sh -c true", "abc", "web", "bb");
        assert!(filter(&[("event", "exec_start")]).includes(&ev));
        assert!(!filter(&[("event", "start")]).includes(&ev));
        let bad = [("colour".to_owned(), vec!["red".to_owned()])].into();
        assert_eq!(EventFilter::new(bad).unwrap_err().status.as_u16(), 400);
        assert_eq!(strip_tag("reg:5000/a/b"), "reg:5000/a/b");
        assert_eq!(strip_tag("reg:5000/a/b:v1"), "reg:5000/a/b");
    }
}
