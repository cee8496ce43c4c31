//! Azure service tags: which published address ranges (`ServiceTags_Public_<date>.json`) an
//! address falls in, so a firewall rule can name a tag instead of an address that will change.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// One tag whose ranges contain the address looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagMatch {
    /// e.g. `AzureContainerRegistry.JapanEast`
    pub tag: String,
    pub region: Option<String>,
    pub system_service: Option<String>,
    /// The tag's most specific prefix that contains the address, e.g. `40.79.197.128/25`.
    pub prefix: String,
}

impl TagMatch {
    /// `40.79.197.128 is in 40.79.197.128/25 (AzureContainerRegistry.JapanEast)`
    pub fn describe(&self, ip: IpAddr) -> String {
        format!("{ip} is in {} ({})", self.prefix, self.tag)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TagsError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or not the shape of a service tags file (serde_json's position and message).
    #[error("{file}:{line}:{column}: {message}")]
    Json { file: String, line: usize, column: usize, message: String },
    #[error("{file}:{}: tag `{tag}`: bad address prefix `{prefix}`: {message}", line.map_or("?".to_string(), |l| l.to_string()))]
    Prefix {
        file: String,
        /// The line where the prefix first appears in the file.
        line: Option<usize>,
        tag: String,
        prefix: String,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagsFile {
    #[serde(default)]
    cloud: Option<String>,
    values: Vec<TagValue>,
}

#[derive(Deserialize)]
struct TagValue {
    name: String,
    properties: TagProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagProperties {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    system_service: Option<String>,
    #[serde(default)]
    address_prefixes: Vec<String>,
}

#[derive(Debug, Clone)]
struct TagInfo {
    name: String,
    region: Option<String>,
    system_service: Option<String>,
}

/// An address family's network bits.
trait Bits: Copy + Eq + Hash {
    const WIDTH: u8;
    fn masked(self, len: u8) -> Self;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    fn masked(self, len: u8) -> u32 {
        // A plain shift by the full width overflows; /0 keeps no bits at all.
        self & u32::MAX.checked_shl(u32::from(Self::WIDTH.saturating_sub(len))).unwrap_or(0)
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    fn masked(self, len: u8) -> u128 {
        self & u128::MAX.checked_shl(u32::from(Self::WIDTH.saturating_sub(len))).unwrap_or(0)
    }
}

/// The prefixes of one address family, grouped by length, longest first. A lookup probes one
/// hash map per length that occurs in the file (a few dozen at most), whatever the file's size.
/// Each distinct prefix is stored once with every tag that lists it.
#[derive(Debug, Clone)]
struct Family<K> {
    levels: Vec<Level<K>>,
}

/// A prefix length and the networks of that length, each with its tags.
type Level<K> = (u8, FxHashMap<K, Box<[u32]>>);

impl<K: Bits> Family<K> {
    fn build(by_len: HashMap<u8, FxHashMap<K, Vec<u32>>>, tags: &[TagInfo]) -> Family<K> {
        let mut levels: Vec<Level<K>> = by_len
            .into_iter()
            .map(|(len, nets)| {
                let nets = nets
                    .into_iter()
                    .map(|(net, mut ids)| {
                        // Name order within a prefix is the promised tie-break.
                        ids.sort_by(|a, b| name_of(tags, *a).cmp(name_of(tags, *b)).then(a.cmp(b)));
                        ids.dedup();
                        (net, ids.into_boxed_slice())
                    })
                    .collect();
                (len, nets)
            })
            .collect();
        levels.sort_by_key(|l| std::cmp::Reverse(l.0));
        Family { levels }
    }

    fn prefixes(&self) -> usize {
        self.levels.iter().map(|(_, m)| m.len()).sum()
    }

    /// Calls `f(len, network, tag ids)` for each stored prefix containing `addr`, longest first.
    fn walk(&self, addr: K, mut f: impl FnMut(u8, K, &[u32])) {
        for (len, nets) in &self.levels {
            let net = addr.masked(*len);
            if let Some(ids) = nets.get(&net) {
                f(*len, net, ids);
            }
        }
    }
}

fn name_of(tags: &[TagInfo], id: u32) -> &str {
    tags.get(id as usize).map_or("", |t| t.name.as_str())
}

/// Azure's published service tags, indexed for address lookups.
#[derive(Debug, Clone)]
pub struct ServiceTags {
    tags: Vec<TagInfo>,
    cloud: Option<String>,
    v4: Family<u32>,
    v6: Family<u128>,
}

impl ServiceTags {
    pub fn load(path: &Path) -> Result<ServiceTags, TagsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TagsError::Io { file: file.clone(), source })?;
        ServiceTags::from_json(&text, &file)
    }

    /// Parses a service tags file; `name` is what errors call it (usually its path).
    pub fn from_json(text: &str, name: &str) -> Result<ServiceTags, TagsError> {
        let parsed: TagsFile = serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            // serde_json appends the position it also gives as numbers; say it once, up front.
            let message = match full.rsplit_once(" at line ") {
                Some((m, _)) if e.line() > 0 => m.to_string(),
                _ => full,
            };
            TagsError::Json { file: name.to_string(), line: e.line(), column: e.column(), message }
        })?;

        let mut tags = Vec::with_capacity(parsed.values.len());
        let mut v4: HashMap<u8, FxHashMap<u32, Vec<u32>>> = HashMap::new();
        let mut v6: HashMap<u8, FxHashMap<u128, Vec<u32>>> = HashMap::new();
        for value in parsed.values {
            let id = u32::try_from(tags.len()).map_err(|_| TagsError::Json {
                file: name.to_string(),
                line: 0,
                column: 0,
                message: "too many tags".to_string(),
            })?;
            for p in &value.properties.address_prefixes {
                let bad = |message: String| TagsError::Prefix {
                    file: name.to_string(),
                    line: line_of(text, p),
                    tag: value.name.clone(),
                    prefix: p.clone(),
                    message,
                };
                match parse_prefix(p).map_err(bad)? {
                    (IpAddr::V4(a), len) => {
                        let net = u32::from(a).masked(len);
                        v4.entry(len).or_default().entry(net).or_default().push(id);
                    }
                    (IpAddr::V6(a), len) => {
                        let net = u128::from(a).masked(len);
                        v6.entry(len).or_default().entry(net).or_default().push(id);
                    }
                }
            }
            let props = value.properties;
            tags.push(TagInfo {
                name: value.name,
                region: props.region.filter(|s| !s.is_empty()),
                system_service: props.system_service.filter(|s| !s.is_empty()),
            });
        }
        Ok(ServiceTags { v4: Family::build(v4, &tags), v6: Family::build(v6, &tags), tags, cloud: parsed.cloud })
    }

    /// Every tag with a prefix that contains `ip`, the most specific prefix first (ties in
    /// name order). A tag appears once, at its most specific prefix. An IPv4-mapped IPv6
    /// address is looked up as the IPv4 address it carries.
    pub fn lookup(&self, ip: IpAddr) -> Vec<TagMatch> {
        let mut seen: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        let mut add = |ids: &[u32], prefix: &dyn Fn() -> String| {
            let mut text: Option<String> = None;
            for &id in ids {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                let Some(t) = self.tags.get(id as usize) else {
                    continue;
                };
                out.push(TagMatch {
                    tag: t.name.clone(),
                    region: t.region.clone(),
                    system_service: t.system_service.clone(),
                    prefix: text.get_or_insert_with(prefix).clone(),
                });
            }
        };
        match canonical(ip) {
            IpAddr::V4(a) => {
                self.v4.walk(u32::from(a), |len, net, ids| add(ids, &|| format!("{}/{len}", Ipv4Addr::from(net))))
            }
            IpAddr::V6(a) => {
                self.v6.walk(u128::from(a), |len, net, ids| add(ids, &|| format!("{}/{len}", Ipv6Addr::from(net))))
            }
        }
        out
    }

    /// The number of tags (the file's `values`).
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The number of distinct prefixes, both families.
    pub fn prefix_count(&self) -> usize {
        self.v4.prefixes() + self.v6.prefixes()
    }

    /// The file's `cloud` (e.g. `Public`, `AzureChinaCloud`), when it says.
    pub fn cloud(&self) -> Option<&str> {
        self.cloud.as_deref()
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `a.b.c.d/n` or `x:y::/n`; a bare address is a host prefix. Host bits past the length are
/// ignored rather than refused: the meaning is plain and Microsoft's own files never set them.
fn parse_prefix(p: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = match p.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (p, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| format!("`{addr}` is not an IP address"))?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => width,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= width => n,
            _ => return Err(format!("`{l}` is not a prefix length from 0 to {width}")),
        },
    };
    // Stored as IPv4 so that it meets IPv4 queries, which is how mapped queries are looked up.
    if let IpAddr::V6(v6) = addr {
        if let (Some(v4), true) = (v6.to_ipv4_mapped(), len >= 96) {
            return Ok((IpAddr::V4(v4), len - 96));
        }
    }
    Ok((addr, len))
}

/// The line where `"prefix"` first appears: serde_json does not say where a string value it
/// accepted came from, and the text is only searched once something is wrong.
fn line_of(text: &str, prefix: &str) -> Option<usize> {
    let quoted = serde_json::to_string(prefix).ok()?;
    let at = text.find(&quoted)?;
    Some(text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn tag(name: &str, region: &str, service: &str, prefixes: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "id": name,
            "properties": {
                "changeNumber": 7,
                "region": region,
                "regionId": 0,
                "platform": "Azure",
                "systemService": service,
                "addressPrefixes": prefixes,
                "networkFeatures": ["API", "NSG", "UDR", "FW"]
            }
        })
    }

    fn sample() -> String {
        let doc = serde_json::json!({
            "changeNumber": 312,
            "cloud": "Public",
            "values": [
                tag("AzureCloud", "", "", &["40.64.0.0/10", "20.0.0.0/8", "2603:1000::/24"]),
                tag("AzureCloud.japaneast", "japaneast", "", &["40.79.192.0/18", "2603:1040::/32"]),
                tag(
                    "AzureContainerRegistry",
                    "",
                    "AzureContainerRegistry",
                    &["40.79.197.128/25", "2603:1040:407::/48"],
                ),
                tag(
                    "AzureContainerRegistry.JapanEast",
                    "japaneast",
                    "AzureContainerRegistry",
                    &["40.79.197.128/25", "40.79.197.136/32", "2603:1040:407::/48"],
                ),
                tag("Storage.JapanEast", "japaneast", "AzureStorage", &["20.60.0.0/16"]),
            ]
        });
        serde_json::to_string_pretty(&doc).unwrap()
    }

    fn names(m: &[TagMatch]) -> Vec<(&str, &str)> {
        m.iter().map(|t| (t.tag.as_str(), t.prefix.as_str())).collect()
    }

    #[test]
    fn nested_prefixes_give_every_tag_most_specific_first() {
        let tags = ServiceTags::from_json(&sample(), "tags.json").unwrap();
        assert_eq!(tags.len(), 5);
        assert!(!tags.is_empty());
        assert_eq!(tags.cloud(), Some("Public"));
        let m = tags.lookup(ip("40.79.197.136"));
        assert_eq!(
            names(&m),
            [
                ("AzureContainerRegistry.JapanEast", "40.79.197.136/32"),
                ("AzureContainerRegistry", "40.79.197.128/25"),
                ("AzureCloud.japaneast", "40.79.192.0/18"),
                ("AzureCloud", "40.64.0.0/10"),
            ]
        );
        assert_eq!(m[0].region.as_deref(), Some("japaneast"));
        assert_eq!(m[0].system_service.as_deref(), Some("AzureContainerRegistry"));
        assert_eq!(m[3].region, None);
        assert_eq!(m[3].system_service, None);

        // Same prefix in two tags: both, in name order.
        let m = tags.lookup(ip("40.79.197.200"));
        assert_eq!(
            names(&m),
            [
                ("AzureContainerRegistry", "40.79.197.128/25"),
                ("AzureContainerRegistry.JapanEast", "40.79.197.128/25"),
                ("AzureCloud.japaneast", "40.79.192.0/18"),
                ("AzureCloud", "40.64.0.0/10"),
            ]
        );
        assert_eq!(
            m[1].describe(ip("40.79.197.200")),
            "40.79.197.200 is in 40.79.197.128/25 (AzureContainerRegistry.JapanEast)"
        );
    }

    #[test]
    fn ipv6_and_mapped_addresses_are_found() {
        let tags = ServiceTags::from_json(&sample(), "tags.json").unwrap();
        let m = tags.lookup(ip("2603:1040:407::10"));
        assert_eq!(
            names(&m),
            [
                ("AzureContainerRegistry", "2603:1040:407::/48"),
                ("AzureContainerRegistry.JapanEast", "2603:1040:407::/48"),
                ("AzureCloud.japaneast", "2603:1040::/32"),
                ("AzureCloud", "2603:1000::/24"),
            ]
        );
        let m = tags.lookup(ip("::ffff:40.79.197.136"));
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].prefix, "40.79.197.136/32");
        assert_eq!(names(&tags.lookup(ip("20.60.1.2")))[0], ("Storage.JapanEast", "20.60.0.0/16"));
    }

    #[test]
    fn an_address_in_no_tag_gives_nothing() {
        let tags = ServiceTags::from_json(&sample(), "tags.json").unwrap();
        for a in ["8.8.8.8", "40.128.0.0", "40.63.255.255", "10.0.0.1", "2001:db8::1", "::1"] {
            assert_eq!(tags.lookup(ip(a)), Vec::new(), "{a}");
        }
        assert_eq!(names(&tags.lookup(ip("40.127.255.255"))), [("AzureCloud", "40.64.0.0/10")]);
    }

    #[test]
    fn a_tag_listing_nested_prefixes_appears_once_at_the_most_specific() {
        let doc = serde_json::json!({"values": [
            tag("A", "", "", &["10.0.0.0/8", "10.1.0.0/16", "10.1.0.0/16", "0.0.0.0/0"]),
            tag("B", "", "", &["::/0"]),
        ]});
        let tags = ServiceTags::from_json(&doc.to_string(), "t.json").unwrap();
        assert_eq!(names(&tags.lookup(ip("10.1.2.3"))), [("A", "10.1.0.0/16")]);
        assert_eq!(names(&tags.lookup(ip("9.9.9.9"))), [("A", "0.0.0.0/0")]);
        assert_eq!(names(&tags.lookup(ip("2001:db8::1"))), [("B", "::/0")]);
        assert_eq!(tags.prefix_count(), 4);
    }

    #[test]
    fn host_bits_bare_addresses_and_mapped_prefixes_are_understood() {
        let doc = serde_json::json!({"values": [
            tag("A", "", "", &["40.79.197.130/25", "52.1.2.3", "::ffff:20.1.0.0/112", "2603::1"]),
        ]});
        let tags = ServiceTags::from_json(&doc.to_string(), "t.json").unwrap();
        assert_eq!(tags.lookup(ip("40.79.197.200"))[0].prefix, "40.79.197.128/25");
        assert_eq!(tags.lookup(ip("52.1.2.3"))[0].prefix, "52.1.2.3/32");
        assert_eq!(tags.lookup(ip("20.1.9.9"))[0].prefix, "20.1.0.0/16");
        assert_eq!(tags.lookup(ip("2603::1"))[0].prefix, "2603::1/128");
        assert!(tags.lookup(ip("52.1.2.4")).is_empty());
    }

    #[test]
    fn a_malformed_file_names_the_file_and_the_line() {
        let text = "{\n  \"values\": [\n    {\"name\": \"A\",\n     \"properties\": {\"addressPrefixes\": [\"1.2.3.0/24\",]}}\n  ]\n}\n";
        let e = ServiceTags::from_json(text, "ServiceTags_Public_20250101.json").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("ServiceTags_Public_20250101.json:4:"), "{msg}");
        assert!(!msg.contains(" at line "), "{msg}");

        let msg = ServiceTags::from_json("{\"vals\": []}", "t.json").unwrap_err().to_string();
        assert!(msg.starts_with("t.json:1:"), "{msg}");
        assert!(msg.contains("values"), "{msg}");

        let text = "{\"values\": [{\"name\": \"A\", \"properties\": {\"addressPrefixes\": \"1.2.3.0/24\"}}]}";
        let msg = ServiceTags::from_json(text, "t.json").unwrap_err().to_string();
        assert!(msg.starts_with("t.json:1:"), "{msg}");
        assert!(msg.contains("sequence"), "{msg}");
    }

    #[test]
    fn a_bad_prefix_names_the_file_the_tag_and_the_prefix() {
        for bad in ["40.79.197.128/33", "40.79.197/25", "2603:1040::/129", "x", "1.2.3.4/", "1.2.3.4/-1"] {
            let doc = serde_json::json!({"values": [
                tag("AzureCloud", "", "", &["40.64.0.0/10"]),
                tag("AzureContainerRegistry.JapanEast", "japaneast", "AzureContainerRegistry", &[bad]),
            ]});
            let text = serde_json::to_string_pretty(&doc).unwrap();
            let e = ServiceTags::from_json(&text, "tags.json").unwrap_err();
            let msg = e.to_string();
            let want_line = text.lines().position(|l| l.contains(&format!("\"{bad}\""))).unwrap() + 1;
            assert!(
                msg.starts_with(&format!(
                    "tags.json:{want_line}: tag `AzureContainerRegistry.JapanEast`: bad address prefix `{bad}`"
                )),
                "{msg}"
            );
        }
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = std::env::temp_dir().join(format!("acrscope-tags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ServiceTags_Public_test.json");
        std::fs::write(&path, sample()).unwrap();
        let tags = ServiceTags::load(&path).unwrap();
        assert_eq!(tags.lookup(ip("40.79.197.136")).len(), 4);

        std::fs::write(&path, "{").unwrap();
        let msg = ServiceTags::load(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:1:", path.display())), "{msg}");

        let missing = dir.join("missing.json");
        let msg = ServiceTags::load(&missing).unwrap_err().to_string();
        assert!(msg.starts_with(&missing.display().to_string()), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_and_minimal_files_load() {
        let tags = ServiceTags::from_json("{\"values\": []}", "t.json").unwrap();
        assert!(tags.is_empty());
        assert_eq!(tags.cloud(), None);
        assert!(tags.lookup(ip("1.2.3.4")).is_empty());
        let tags = ServiceTags::from_json("{\"values\": [{\"name\": \"A\", \"properties\": {}}]}", "t.json").unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags.prefix_count(), 0);
    }

    #[test]
    fn masks_cover_every_length() {
        assert_eq!(0xffff_ffffu32.masked(0), 0);
        assert_eq!(0xffff_ffffu32.masked(1), 0x8000_0000);
        assert_eq!(0xffff_ffffu32.masked(32), 0xffff_ffff);
        assert_eq!(u128::MAX.masked(0), 0);
        assert_eq!(u128::MAX.masked(128), u128::MAX);
        assert_eq!(u128::MAX.masked(64), u128::MAX << 64);
    }
}
