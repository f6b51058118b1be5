//! Address ranges and the arithmetic on them: containment, capacity and the round-robin walk
//! the allocator takes through a range set.
//!
//! A [`Range`] here is already validated (see `config.rs`); nothing in this file fails.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

/// An address as a number, so ranges can be walked and compared across both families.
pub(crate) fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The inverse of [`to_u128`] for the family of `like`.
pub(crate) fn from_u128(value: u128, like: IpAddr) -> IpAddr {
    match like {
        // Values of a v4 range never exceed u32::MAX; truncation cannot happen.
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(value as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// One validated range: the addresses `range_start..=range_end` of `subnet`, with `gateway` never
/// handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The subnet, with no host bits set.
    pub subnet: IpNetwork,
    /// First address that may be allocated.
    pub range_start: IpAddr,
    /// Last address that may be allocated (for IPv4 never the broadcast address).
    pub range_end: IpAddr,
    /// The gateway reported with allocations from this range; skipped when allocating.
    pub gateway: IpAddr,
}

impl Range {
    /// True when `ip` lies in `range_start..=range_end` (the gateway counts as inside).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.range_start.is_ipv4()
            && (to_u128(self.range_start)..=to_u128(self.range_end)).contains(&to_u128(ip))
    }

    /// How many addresses this range can hand out (the gateway excluded).
    pub fn capacity(&self) -> u128 {
        let span = to_u128(self.range_end) - to_u128(self.range_start);
        let all = span.saturating_add(1);
        if self.contains(self.gateway) {
            all - 1
        } else {
            all
        }
    }

    /// `ip` with this range's prefix length, as it goes into a CNI result (`10.88.0.5/16`).
    pub fn address(&self, ip: IpAddr) -> IpNetwork {
        // The prefix came from a valid IpNetwork of the same family, so this cannot fail.
        IpNetwork::new(ip, self.subnet.prefix()).unwrap_or(self.subnet)
    }

    /// True when the two ranges share at least one address.
    pub(crate) fn overlaps(&self, other: &Range) -> bool {
        self.range_start.is_ipv4() == other.range_start.is_ipv4()
            && to_u128(self.range_start) <= to_u128(other.range_end)
            && to_u128(other.range_start) <= to_u128(self.range_end)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}-{})",
            self.subnet, self.range_start, self.range_end
        )
    }
}

/// A list of ranges of one family; the allocator hands out one address per set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet {
    /// The ranges, in config order (the round-robin walk follows it). Never empty.
    pub ranges: Vec<Range>,
}

impl RangeSet {
    /// The range that contains `ip`, if any.
    pub fn range_for(&self, ip: IpAddr) -> Option<&Range> {
        self.ranges.iter().find(|r| r.contains(ip))
    }

    /// How many addresses the whole set can hand out (saturating for huge IPv6 ranges).
    pub fn capacity(&self) -> u128 {
        self.ranges
            .iter()
            .fold(0u128, |acc, r| acc.saturating_add(r.capacity()))
    }

    /// Every allocatable address once, starting after `last` (the last reserved address) and
    /// wrapping around; from the first range's start when `last` is in no range.
    pub fn candidates(&self, last: Option<IpAddr>) -> Candidates<'_> {
        let start = last
            .and_then(|ip| {
                let idx = self.ranges.iter().position(|r| r.contains(ip))?;
                Some(self.successor(idx, to_u128(ip)))
            })
            .unwrap_or((0, to_u128(self.ranges[0].range_start)));
        Candidates {
            set: self,
            start,
            cur: start,
            started: false,
        }
    }

    /// The position after `value` in range `idx`, moving to the next range (wrapping) at its end.
    fn successor(&self, idx: usize, value: u128) -> (usize, u128) {
        if value < to_u128(self.ranges[idx].range_end) {
            (idx, value + 1)
        } else {
            let next = (idx + 1) % self.ranges.len();
            (next, to_u128(self.ranges[next].range_start))
        }
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// The round-robin walk of a [`RangeSet`]: yields `(range, address)` and skips gateways.
#[derive(Debug)]
pub struct Candidates<'a> {
    set: &'a RangeSet,
    start: (usize, u128),
    cur: (usize, u128),
    started: bool,
}

impl<'a> Iterator for Candidates<'a> {
    type Item = (&'a Range, IpAddr);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.started && self.cur == self.start {
                return None;
            }
            self.started = true;
            let (idx, value) = self.cur;
            self.cur = self.set.successor(idx, value);
            let range = &self.set.ranges[idx];
            let ip = from_u128(value, range.range_start);
            if ip != range.gateway {
                return Some((range, ip));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(subnet: &str, start: &str, end: &str, gw: &str) -> Range {
        Range {
            subnet: subnet.parse().unwrap(),
            range_start: start.parse().unwrap(),
            range_end: end.parse().unwrap(),
            gateway: gw.parse().unwrap(),
        }
    }

    #[test]
    fn walk_starts_after_last_and_wraps_across_ranges() {
        let set = RangeSet {
            ranges: vec![
                range("10.0.0.0/29", "10.0.0.1", "10.0.0.3", "10.0.0.1"),
                range("10.0.1.0/29", "10.0.1.5", "10.0.1.6", "10.0.1.1"),
            ],
        };
        let walk: Vec<String> = set
            .candidates(Some("10.0.0.3".parse().unwrap()))
            .map(|(_, ip)| ip.to_string())
            .collect();
        assert_eq!(walk, ["10.0.1.5", "10.0.1.6", "10.0.0.2", "10.0.0.3"]);
        assert_eq!(set.capacity(), 4);
    }

    #[test]
    fn walk_starts_at_first_range_when_last_is_unknown() {
        let set = RangeSet {
            ranges: vec![range("fd00::/120", "fd00::1", "fd00::3", "fd00::1")],
        };
        let walk: Vec<String> = set
            .candidates(Some("10.0.0.9".parse().unwrap()))
            .map(|(_, ip)| ip.to_string())
            .collect();
        assert_eq!(walk, ["fd00::2", "fd00::3"]);
    }

    #[test]
    fn address_carries_the_subnet_prefix() {
        let r = range("10.88.0.0/16", "10.88.0.1", "10.88.255.254", "10.88.0.1");
        let a = r.address("10.88.0.5".parse().unwrap());
        assert_eq!(a.to_string(), "10.88.0.5/16");
    }
}
