//! Host-name rules: which provider and role a name the client asked for stands for.
//!
//! The rules are data (`assets/endpoints.toml`, compiled in, replaceable with `--rules`), so a
//! new registry or endpoint family needs no code change.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use toml::Spanned;

const BUILTIN: &str = include_str!("../../assets/endpoints.toml");
const BUILTIN_NAME: &str = "<builtin endpoints.toml>";

/// Capture groups a rule may use; any other would be silently dropped, so it is refused.
const CAPTURES: [&str; 3] = ["registry", "region", "account"];

/// Rules come from files users may edit: keep a pathological pattern from eating memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// What a connection is for, as a firewall team would group it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An ACR login server (`<registry>.azurecr.io`, regional or private-link forms).
    AcrLogin,
    /// An ACR dedicated data endpoint (`<registry>.<region>.data.azurecr.io`).
    AcrDataDedicated,
    /// The storage account ACR redirects layer downloads to (`*.blob.core.windows.net`).
    AcrDataBlob,
    /// Microsoft Entra ID and Azure Resource Manager.
    Auth,
    RegistryLogin,
    RegistryAuth,
    RegistryData,
    /// Set by the caller for DNS flows; no rule needs it.
    Dns,
    #[default]
    Other,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::AcrLogin,
        Role::AcrDataDedicated,
        Role::AcrDataBlob,
        Role::Auth,
        Role::RegistryLogin,
        Role::RegistryAuth,
        Role::RegistryData,
        Role::Dns,
        Role::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::AcrLogin => "acr-login",
            Role::AcrDataDedicated => "acr-data-dedicated",
            Role::AcrDataBlob => "acr-data-blob",
            Role::Auth => "auth",
            Role::RegistryLogin => "registry-login",
            Role::RegistryAuth => "registry-auth",
            Role::RegistryData => "registry-data",
            Role::Dns => "dns",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules say about one host name. `Default` is "no rule matched".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub provider: Option<Arc<str>>,
    pub role: Role,
    pub registry: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
    pub account: Option<Arc<str>>,
    /// The name of the rule that matched.
    pub rule: Option<Arc<str>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the shape of a rules file (unknown field, unknown role, ...).
    #[error("{file}:{}: {message}", position(*.line, *.column))]
    Syntax { file: String, line: Option<usize>, column: Option<usize>, message: String },
    #[error("{file}:{line}: rule `{rule}`: bad pattern `{pattern}`: {message}")]
    Pattern { file: String, line: usize, rule: String, pattern: String, message: String },
    /// Parses, but cannot work as intended (duplicate name, unknown capture group, ...).
    #[error("{file}:{line}: rule `{rule}`: {message}")]
    Invalid { file: String, line: usize, rule: String, message: String },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        (Some(l), None) => l.to_string(),
        _ => "?".to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    issuer: Vec<IssuerDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerDef {
    provider: Spanned<String>,
    #[serde(default)]
    issuer_cn: Vec<Spanned<String>>,
    #[serde(default)]
    issuer_o: Vec<Spanned<String>>,
}

/// The certificate issuers one provider's hosts are expected to show.
#[derive(Debug, Clone)]
struct IssuerRule {
    provider: String,
    cn: RegexSet,
    o: RegexSet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: Spanned<String>,
    provider: String,
    role: Role,
    pattern: Spanned<String>,
    #[serde(default)]
    privatelink: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    /// Shared with every classification the rule makes, rather than copied into each.
    name: Arc<str>,
    provider: Arc<str>,
    role: Role,
    pattern: String,
    privatelink: bool,
    regex: Regex,
}

/// An ordered list of host-name rules; the first match wins.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    /// All patterns at once, so a name that matches nothing (most of them) costs one scan.
    set: RegexSet,
    issuers: Vec<IssuerRule>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { rules: Vec::new(), set: RegexSet::empty(), issuers: Vec::new() }
    }
}

impl Rules {
    /// The rules bundled with acrscope.
    pub fn builtin() -> Rules {
        static CELL: OnceLock<Rules> = OnceLock::new();
        // The bundled file is checked by a unit test; an empty rule set beats a panic should
        // that ever be skipped.
        CELL.get_or_init(|| Rules::from_toml(BUILTIN, BUILTIN_NAME).unwrap_or_default()).clone()
    }

    pub fn from_file(path: &Path) -> Result<Rules, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io { file: file.clone(), source })?;
        Rules::from_toml(&text, &file)
    }

    /// Parses rules; `name` is what errors call the text (usually its path).
    pub fn from_toml(text: &str, name: &str) -> Result<Rules, RulesError> {
        let parsed: RulesFile = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            RulesError::Syntax { file: name.to_string(), line, column, message: e.message().trim_end().to_string() }
        })?;

        let mut rules: Vec<Rule> = Vec::with_capacity(parsed.rule.len());
        for def in parsed.rule {
            let line = line_col(text, def.name.span().start).0;
            let rule_name = def.name.get_ref().clone();
            let invalid = |message: String| RulesError::Invalid {
                file: name.to_string(),
                line,
                rule: rule_name.clone(),
                message,
            };
            if rule_name.trim().is_empty() {
                return Err(invalid("the rule has no name".into()));
            }
            if let Some(first) = rules.iter().find(|r| *r.name == *rule_name) {
                return Err(invalid(format!("the name is already used (rule `{}` before it)", first.name)));
            }
            let pattern = def.pattern.get_ref().clone();
            let pattern_line = line_col(text, def.pattern.span().start).0;
            let regex = RegexBuilder::new(&anchored(&pattern)).size_limit(PATTERN_SIZE_LIMIT).build().map_err(|e| {
                RulesError::Pattern {
                    file: name.to_string(),
                    line: pattern_line,
                    rule: rule_name.clone(),
                    pattern: pattern.clone(),
                    message: e.to_string(),
                }
            })?;
            if let Some(bad) = regex.capture_names().flatten().find(|n| !CAPTURES.contains(n)) {
                return Err(RulesError::Invalid {
                    file: name.to_string(),
                    line: pattern_line,
                    rule: rule_name.clone(),
                    message: format!(
                        "unknown capture group `{bad}` in pattern `{pattern}` (allowed: {})",
                        CAPTURES.join(", ")
                    ),
                });
            }
            rules.push(Rule {
                name: Arc::from(rule_name),
                provider: Arc::from(def.provider),
                role: def.role,
                pattern,
                privatelink: def.privatelink,
                regex,
            });
        }

        let set = RegexSetBuilder::new(rules.iter().map(|r| anchored(&r.pattern)))
            .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(rules.len().max(1)))
            .build()
            .map_err(|e| RulesError::Syntax {
                file: name.to_string(),
                line: None,
                column: None,
                message: format!("the patterns together are too large: {e}"),
            })?;
        let issuers = issuer_rules(parsed.issuer, &rules, text, name)?;
        Ok(Rules { rules, set, issuers })
    }

    /// Whether a certificate issuer (its CN and O, as far as known) is one the rules expect
    /// for `provider`'s hosts: `None` when the rules list no issuer for that provider, so
    /// nothing can be said. An issuer matching neither list means TLS was terminated on the
    /// way (an inspecting proxy).
    pub fn issuer_expected(&self, provider: &str, issuer_cn: Option<&str>, issuer_o: Option<&str>) -> Option<bool> {
        let mut listed = false;
        for r in self.issuers.iter().filter(|r| r.provider == provider) {
            listed = true;
            if issuer_cn.is_some_and(|cn| r.cn.is_match(cn)) || issuer_o.is_some_and(|o| r.o.is_match(o)) {
                return Some(true);
            }
        }
        listed.then_some(false)
    }

    /// Providers with expected issuers, in file order (a provider listed twice appears twice).
    pub fn issuer_providers(&self) -> impl Iterator<Item = &str> {
        self.issuers.iter().map(|r| r.provider.as_str())
    }

    /// Classifies the name a client asked for (SNI or DNS query). Never fails: a name no rule
    /// knows is `Role::Other` with no provider.
    pub fn classify(&self, host: &str) -> Classification {
        let host = normalize(host);
        let Some(rule) = self.first_match(&host) else {
            return Classification::default();
        };
        let caps = rule.regex.captures(&host);
        let get = |group: &str| {
            caps.as_ref()
                .and_then(|c| c.name(group))
                .map(|m| Arc::from(m.as_str()))
                .filter(|s: &Arc<str>| !s.is_empty())
        };
        Classification {
            provider: Some(rule.provider.clone()),
            role: rule.role,
            registry: get("registry"),
            region: get("region"),
            account: get("account"),
            rule: Some(rule.name.clone()),
        }
    }

    /// Whether `name` is one a private endpoint's DNS zone answers for (a `privatelink = true`
    /// rule is the first to match it), e.g. `fabrikamreg.privatelink.azurecr.io`.
    pub fn is_privatelink_alias(&self, name: &str) -> bool {
        self.first_match(&normalize(name)).is_some_and(|r| r.privatelink)
    }

    /// Rule names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| &*r.name)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn first_match(&self, host: &str) -> Option<&Rule> {
        let first = self.set.matches(host).into_iter().next()?;
        self.rules.get(first)
    }
}

/// Compiles the `[[issuer]]` entries: each names a provider some rule has, with at least one
/// pattern, every pattern valid.
fn issuer_rules(defs: Vec<IssuerDef>, rules: &[Rule], text: &str, file: &str) -> Result<Vec<IssuerRule>, RulesError> {
    let mut out = Vec::with_capacity(defs.len());
    for def in defs {
        let line = line_col(text, def.provider.span().start).0;
        let provider = def.provider.get_ref().clone();
        let label = format!("issuer for {provider}");
        let invalid =
            |message: String| RulesError::Invalid { file: file.to_string(), line, rule: label.clone(), message };
        if !rules.iter().any(|r| *r.provider == *provider) {
            return Err(invalid(format!(
                "no rule has provider `{provider}`; an [[issuer]] names a provider of the rules"
            )));
        }
        if def.issuer_cn.is_empty() && def.issuer_o.is_empty() {
            return Err(invalid("no pattern: give issuer_cn, issuer_o or both".into()));
        }
        let set = |patterns: &[Spanned<String>]| -> Result<RegexSet, RulesError> {
            for p in patterns {
                RegexBuilder::new(&anchored(p.get_ref()))
                    .case_insensitive(true)
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .build()
                    .map_err(|e| RulesError::Pattern {
                        file: file.to_string(),
                        line: line_col(text, p.span().start).0,
                        rule: label.clone(),
                        pattern: p.get_ref().clone(),
                        message: e.to_string(),
                    })?;
            }
            RegexSetBuilder::new(patterns.iter().map(|p| anchored(p.get_ref())))
                .case_insensitive(true)
                .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
                .build()
                .map_err(|e| invalid(format!("the patterns together are too large: {e}")))
        };
        out.push(IssuerRule { cn: set(&def.issuer_cn)?, o: set(&def.issuer_o)?, provider });
    }
    Ok(out)
}

/// Rules are meant whole-name; anchoring here keeps a forgotten `^`/`$` from letting
/// `fabrikamreg.azurecr.io.evil.com` through.
fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

fn normalize(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        rule: &'static str,
        host: &'static str,
        provider: &'static str,
        role: Role,
        registry: Option<&'static str>,
        region: Option<&'static str>,
        account: Option<&'static str>,
        privatelink: bool,
    }

    const fn case(rule: &'static str, host: &'static str, provider: &'static str, role: Role) -> Case {
        Case { rule, host, provider, role, registry: None, region: None, account: None, privatelink: false }
    }

    impl Case {
        const fn registry(mut self, r: &'static str) -> Self {
            self.registry = Some(r);
            self
        }
        const fn region(mut self, r: &'static str) -> Self {
            self.region = Some(r);
            self
        }
        const fn account(mut self, a: &'static str) -> Self {
            self.account = Some(a);
            self
        }
        const fn privatelink(mut self) -> Self {
            self.privatelink = true;
            self
        }
    }

    fn matches() -> Vec<Case> {
        use Role::*;
        vec![
            case("acr-login", "fabrikamreg.azurecr.io", "acr", AcrLogin).registry("fabrikamreg"),
            case("acr-login", "FabrikamReg.AzureCR.io.", "acr", AcrLogin).registry("fabrikamreg"),
            case("acr-login", "contoso01.azurecr.cn", "acr", AcrLogin).registry("contoso01"),
            case("acr-login", "contoso01.azurecr.us", "acr", AcrLogin).registry("contoso01"),
            case("acr-login", "contosoacr-e8e5fgbwgb9ffccj.azurecr.io", "acr", AcrLogin).registry("contosoacr"),
            case("acr-login", "abcde.azurecr.io", "acr", AcrLogin).registry("abcde"),
            case("acr-login-regional", "fabrikamreg.westus2.geo.azurecr.io", "acr", AcrLogin)
                .registry("fabrikamreg")
                .region("westus2"),
            case("acr-data-dedicated", "fabrikamreg.japaneast.data.azurecr.io", "acr", AcrDataDedicated)
                .registry("fabrikamreg")
                .region("japaneast"),
            case("acr-data-dedicated", "contoso01.chinanorth3.data.azurecr.cn", "acr", AcrDataDedicated)
                .registry("contoso01")
                .region("chinanorth3"),
            case("acr-data-dedicated", "contoso01.usgovvirginia.data.azurecr.us", "acr", AcrDataDedicated)
                .registry("contoso01")
                .region("usgovvirginia"),
            case("acr-privatelink-login", "fabrikamreg.privatelink.azurecr.io", "acr", AcrLogin)
                .registry("fabrikamreg")
                .privatelink(),
            case("acr-privatelink-login", "contoso01.privatelink.azurecr.us", "acr", AcrLogin)
                .registry("contoso01")
                .privatelink(),
            case("acr-privatelink-login-regional", "fabrikamreg.eastus.geo.privatelink.azurecr.io", "acr", AcrLogin)
                .registry("fabrikamreg")
                .region("eastus")
                .privatelink(),
            case("acr-privatelink-data", "fabrikamreg.japaneast.data.privatelink.azurecr.io", "acr", AcrDataDedicated)
                .registry("fabrikamreg")
                .region("japaneast")
                .privatelink(),
            case("acr-privatelink-data", "contoso01.chinaeast2.data.privatelink.azurecr.cn", "acr", AcrDataDedicated)
                .registry("contoso01")
                .region("chinaeast2")
                .privatelink(),
            case("acr-data-blob", "jpeprodstore07.blob.core.windows.net", "acr", AcrDataBlob).account("jpeprodstore07"),
            case("acr-data-blob", "abc.blob.core.chinacloudapi.cn", "acr", AcrDataBlob).account("abc"),
            case("acr-data-blob", "abcdefghijklmnopqrstuvwx.blob.core.usgovcloudapi.net", "acr", AcrDataBlob)
                .account("abcdefghijklmnopqrstuvwx"),
            case("azure-entra", "login.microsoftonline.com", "azure", Auth),
            case("azure-entra", "login.windows.net", "azure", Auth),
            case("azure-entra", "login.chinacloudapi.cn", "azure", Auth),
            case("azure-entra", "login.microsoftonline.us", "azure", Auth),
            case("azure-resource-manager", "management.azure.com", "azure", Auth),
            case("azure-resource-manager", "management.usgovcloudapi.net", "azure", Auth),
            case("docker-hub-login", "registry-1.docker.io", "docker-hub", RegistryLogin),
            case("docker-hub-login", "index.docker.io", "docker-hub", RegistryLogin),
            case("docker-hub-auth", "auth.docker.io", "docker-hub", RegistryAuth),
            case("docker-hub-data", "production.cloudflare.docker.com", "docker-hub", RegistryData),
            case(
                "docker-hub-data-r2",
                "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
                "docker-hub",
                RegistryData,
            ),
            case("mcr-login", "mcr.microsoft.com", "mcr", RegistryLogin),
            case("mcr-data", "westus2.data.mcr.microsoft.com", "mcr", RegistryData).region("westus2"),
            case("ghcr-login", "ghcr.io", "ghcr", RegistryLogin),
            case("ghcr-data", "pkg-containers.githubusercontent.com", "ghcr", RegistryData),
            case("ecr-login", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com", "ecr", RegistryLogin)
                .registry("123456789012")
                .region("ap-northeast-1"),
            case("ecr-login", "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "ecr", RegistryLogin)
                .registry("123456789012")
                .region("us-gov-west-1"),
            case("ecr-login", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "ecr", RegistryLogin)
                .registry("123456789012")
                .region("cn-north-1"),
            case("ecr-login-dualstack", "123456789012.dkr-ecr.eu-west-1.on.aws", "ecr", RegistryLogin)
                .registry("123456789012")
                .region("eu-west-1"),
            case("ecr-auth", "api.ecr.us-east-1.amazonaws.com", "ecr", RegistryAuth).region("us-east-1"),
            case("ecr-data", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com", "ecr", RegistryData)
                .region("us-east-1"),
            case("ecr-data", "prod-ap-northeast-1-starport-layer-bucket.s3.amazonaws.com", "ecr", RegistryData)
                .region("ap-northeast-1"),
            case("ecr-public-login", "public.ecr.aws", "ecr", RegistryLogin),
            case("gcr-login", "gcr.io", "gcr", RegistryLogin),
            case("gcr-login", "eu.gcr.io", "gcr", RegistryLogin).region("eu"),
            case("gcr-login", "mirror.gcr.io", "gcr", RegistryLogin),
            case("gar-login", "us-central1-docker.pkg.dev", "gcr", RegistryLogin).region("us-central1"),
            case("gar-login", "europe-docker.pkg.dev", "gcr", RegistryLogin).region("europe"),
            case("gar-login", "northamerica-northeast1-docker.pkg.dev", "gcr", RegistryLogin)
                .region("northamerica-northeast1"),
            case("gcr-data", "storage.googleapis.com", "gcr", RegistryData),
            case("gcr-data", "artifacts.my-project.appspot.com.storage.googleapis.com", "gcr", RegistryData),
            case("quay-login", "quay.io", "quay", RegistryLogin),
            case("quay-data", "cdn.quay.io", "quay", RegistryData),
            case("quay-data", "cdn02.quay.io", "quay", RegistryData),
            case("quay-data-s3", "quayio-production-s3.s3.amazonaws.com", "quay", RegistryData),
        ]
    }

    /// Close names that the rule must not take, and the rule (if any) that takes them instead.
    fn near_misses() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
        vec![
            ("acr-login", "fabrikamreg.azurecr.io.evil.com", None),
            ("acr-login", "fabrikamreg.azurecr.com", None),
            ("acr-login", "abcd.azurecr.io", None), // shorter than any registry name
            ("acr-login", "fabrikam_reg.azurecr.io", None),
            ("acr-login", "jpe-2-az.fe.azcr.io", None),
            ("acr-login", "fabrikamregazurecr.io", None),
            ("acr-login-regional", "fabrikamreg.westus2.geo.azurecr.io.example", None),
            ("acr-login-regional", "fabrikamreg.geo.azurecr.io", None),
            ("acr-data-dedicated", "fabrikamreg.japaneast.data.azurecr.io.evil.com", None),
            ("acr-data-dedicated", "jpe-0.data.azcr.io", None),
            ("acr-data-dedicated", "fabrikamreg.data.azurecr.io", None),
            ("acr-privatelink-login", "fabrikamreg.privatelink.azurecr.io.evil.com", None),
            ("acr-privatelink-login", "fabrikamreg.privatelink.azurecr.com", None),
            ("acr-privatelink-login-regional", "fabrikamreg.eastus.geo.privatelink.azurecr.io.example", None),
            ("acr-privatelink-data", "fabrikamreg.japaneast.data.privatelink.azurecr.io.example", None),
            ("acr-privatelink-data", "fabrikamreg.japaneast.privatelink.azurecr.io", None),
            ("acr-data-blob", "x.blob.core.windows.net.example", None),
            ("acr-data-blob", "ab.blob.core.windows.net", None),
            ("acr-data-blob", "abcdefghijklmnopqrstuvwxy.blob.core.windows.net", None),
            ("acr-data-blob", "store.privatelink.blob.core.windows.net", None),
            ("acr-data-blob", "store.file.core.windows.net", None),
            ("azure-entra", "login.microsoftonline.com.evil.com", None),
            ("azure-entra", "xlogin.microsoftonline.com", None),
            ("azure-resource-manager", "management.azure.com.example", None),
            ("azure-resource-manager", "portal.azure.com", None),
            ("docker-hub-login", "registry-1.docker.io.example", None),
            ("docker-hub-login", "registry-2.docker.io", None),
            ("docker-hub-auth", "auth.docker.io.example", None),
            ("docker-hub-data", "production.cloudflare.docker.com.example", None),
            ("docker-hub-data", "staging.cloudflare.docker.com", None),
            ("docker-hub-data-r2", "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f5.r2.cloudflarestorage.com", None),
            ("mcr-login", "mcr.microsoft.com.evil.com", None),
            ("mcr-login", "xmcr.microsoft.com", None),
            ("mcr-data", "westus2.data.mcr.microsoft.com.example", None),
            ("mcr-data", "data.mcr.microsoft.com", None),
            ("ghcr-login", "ghcr.io.example", None),
            ("ghcr-login", "evilghcr.io", None),
            ("ghcr-data", "pkg-containers.githubusercontent.com.example", None),
            ("ghcr-data", "raw.githubusercontent.com", None),
            ("ecr-login", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.com", None),
            ("ecr-login", "12345678901.dkr.ecr.us-east-1.amazonaws.com", None),
            ("ecr-login-dualstack", "123456789012.dkr-ecr.eu-west-1.on.aws.example", None),
            ("ecr-auth", "api.ecr.us-east-1.amazonaws.com.example", None),
            ("ecr-auth", "api.ecr-public.us-east-1.amazonaws.com", None),
            ("ecr-data", "prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com.example", None),
            ("ecr-data", "my-bucket.s3.us-east-1.amazonaws.com", None),
            ("ecr-public-login", "public.ecr.aws.example", None),
            ("gcr-login", "gcr.io.example", None),
            ("gcr-login", "evil.gcr.io.com", None),
            ("gcr-login", "xx.gcr.io", None),
            ("gar-login", "us-central1-docker.pkg.dev.example", None),
            ("gar-login", "us-central1-maven.pkg.dev", None),
            ("gcr-data", "storage.googleapis.com.example", None),
            ("gcr-data", "xstorage.googleapis.com", None),
            ("quay-login", "quay.io.example", None),
            ("quay-login", "notquay.io", None),
            ("quay-data", "cdn.quay.io.example", None),
            ("quay-data", "cdnx.quay.io", None),
            ("quay-data-s3", "quayio-production-s3.s3.amazonaws.com.example", None),
            ("quay-data-s3", "quayio-staging-s3.s3.amazonaws.com", None),
            // Close to one rule but exactly another's.
            ("acr-login", "fabrikamreg.privatelink.azurecr.io", Some("acr-privatelink-login")),
            ("acr-data-dedicated", "fabrikamreg.japaneast.data.privatelink.azurecr.io", Some("acr-privatelink-data")),
            ("ecr-auth", "123456789012.dkr.ecr.us-east-1.amazonaws.com", Some("ecr-login")),
            ("quay-login", "cdn01.quay.io", Some("quay-data")),
            ("docker-hub-auth", "registry-1.docker.io", Some("docker-hub-login")),
        ]
    }

    #[test]
    fn the_bundled_rules_parse() {
        let rules = Rules::from_toml(BUILTIN, "endpoints.toml").unwrap();
        assert!(rules.len() >= 25, "{} rules", rules.len());
        assert_eq!(Rules::builtin().len(), rules.len());
    }

    #[test]
    fn every_rule_has_a_match_and_a_near_miss_in_the_tables() {
        let rules = Rules::builtin();
        let m = matches();
        let n = near_misses();
        for name in rules.names() {
            assert!(m.iter().any(|c| c.rule == name), "rule {name} has no match case");
            assert!(n.iter().any(|c| c.0 == name), "rule {name} has no near-miss case");
        }
        for c in &m {
            assert!(rules.names().any(|r| r == c.rule), "no rule named {}", c.rule);
        }
        for c in &n {
            assert!(rules.names().any(|r| r == c.0), "no rule named {}", c.0);
        }
    }

    #[test]
    fn each_match_case_gets_its_rule_role_and_captures() {
        let rules = Rules::builtin();
        for c in matches() {
            let got = rules.classify(c.host);
            let want = Classification {
                provider: Some(c.provider.into()),
                role: c.role,
                registry: c.registry.map(Arc::from),
                region: c.region.map(Arc::from),
                account: c.account.map(Arc::from),
                rule: Some(c.rule.into()),
            };
            assert_eq!(got, want, "{}", c.host);
            assert_eq!(rules.is_privatelink_alias(c.host), c.privatelink, "{}", c.host);
        }
    }

    #[test]
    fn each_near_miss_is_not_taken_by_its_rule() {
        let rules = Rules::builtin();
        for (rule, host, instead) in near_misses() {
            let got = rules.classify(host);
            assert_ne!(got.rule.as_deref(), Some(rule), "{host}");
            assert_eq!(got.rule.as_deref(), instead, "{host}");
            if instead.is_none() {
                assert_eq!(got, Classification::default(), "{host}");
            }
        }
    }

    #[test]
    fn infrastructure_names_down_a_cname_chain_are_other() {
        let rules = Rules::builtin();
        for host in [
            "r0223jpe-2-az.japaneast.cloudapp.azure.com",
            "d0223jpe.japaneast.cloudapp.azure.com",
            "cloudapp.azure.com",
            "jpe-2-acr-az-reg.trafficmanager.net",
            "jpe-acr-dp.trafficmanager.net",
            "jpe-2-az.fe.azcr.io",
            "jpe-0.data.azcr.io",
            "blob.jpe21prdstr06a.store.core.windows.net",
            "mcr-0001.mcr-msedge.net",
            "",
            ".",
            "..",
            "azurecr.io",
            "\u{0}\u{ff}é.azurecr.io",
        ] {
            let c = rules.classify(host);
            assert_eq!(c.role, Role::Other, "{host:?}");
            assert_eq!(c.provider, None, "{host:?}");
            assert_eq!(c.rule, None, "{host:?}");
            assert!(!rules.is_privatelink_alias(host), "{host:?}");
        }
    }

    #[test]
    fn long_and_odd_names_do_not_break_classification() {
        let rules = Rules::builtin();
        let long = format!("{}.azurecr.io", "a".repeat(100_000));
        assert_eq!(rules.classify(&long).role, Role::Other);
        let fifty = format!("{}.azurecr.io", "a".repeat(50));
        assert_eq!(rules.classify(&fifty).registry.as_deref(), Some(&"a".repeat(50)[..]));
        let fifty_one = format!("{}.azurecr.io", "a".repeat(51));
        assert_eq!(rules.classify(&fifty_one).role, Role::Other);
    }

    #[test]
    fn roles_and_their_names_round_trip() {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "acr-login",
                "acr-data-dedicated",
                "acr-data-blob",
                "auth",
                "registry-login",
                "registry-auth",
                "registry-data",
                "dns",
                "other"
            ]
        );
        for r in Role::ALL {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Role::default(), Role::Other);
    }

    #[test]
    fn a_file_that_does_not_parse_names_the_file_and_line() {
        let text =
            "[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"acr-login\"\npattern = 'a'\n\n[[rule]\nname = \"b\"\n";
        let e = Rules::from_toml(text, "my-rules.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("my-rules.toml:7:"), "{msg}");
        assert!(matches!(e, RulesError::Syntax { line: Some(7), .. }), "{e:?}");
    }

    #[test]
    fn an_unknown_role_or_field_names_the_line() {
        let text = "[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"acr-logon\"\npattern = 'a'\n";
        let msg = Rules::from_toml(text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:4:"), "{msg}");
        assert!(msg.contains("acr-logon"), "{msg}");

        let text = "[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"acr-login\"\npattern = 'a'\nregion = 'x'\n";
        let msg = Rules::from_toml(text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:6:"), "{msg}");
        assert!(msg.contains("region"), "{msg}");

        let text = "[[rule]]\nname = \"a\"\nrole = \"acr-login\"\npattern = 'a'\n";
        let msg = Rules::from_toml(text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:1:"), "{msg}");
        assert!(msg.contains("provider"), "{msg}");
    }

    #[test]
    fn a_bad_regex_names_the_rule_the_pattern_and_the_line() {
        let text = "[[rule]]\nname = \"good\"\nprovider = \"x\"\nrole = \"other\"\npattern = 'a'\n\n[[rule]]\nname = \"broken-one\"\nprovider = \"x\"\nrole = \"other\"\npattern = '^(?P<registry>[a-z+\\.azurecr\\.io$'\n";
        let e = Rules::from_toml(text, "r.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("r.toml:11: rule `broken-one`"), "{msg}");
        assert!(msg.contains("^(?P<registry>[a-z+\\.azurecr\\.io$"), "{msg}");
    }

    #[test]
    fn an_unknown_capture_or_a_duplicate_name_is_refused() {
        let text = "[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"other\"\npattern = '(?P<tenant>.+)\\.example'\n";
        let msg = Rules::from_toml(text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:5: rule `a`"), "{msg}");
        assert!(msg.contains("tenant"), "{msg}");

        let text = "[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"other\"\npattern = 'a'\n[[rule]]\nname = \"a\"\nprovider = \"x\"\nrole = \"other\"\npattern = 'b'\n";
        let msg = Rules::from_toml(text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:7: rule `a`"), "{msg}");
    }

    #[test]
    fn from_file_reads_and_names_the_file() {
        let dir = std::env::temp_dir().join(format!("acrscope-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("custom.toml");
        std::fs::write(
            &path,
            "[[rule]]\nname = \"corp\"\nprovider = \"corp\"\nrole = \"registry-login\"\npattern = '(?P<registry>[a-z]+)\\.registry\\.corp\\.example'\n",
        )
        .unwrap();
        let rules = Rules::from_file(&path).unwrap();
        let c = rules.classify("team.registry.corp.example");
        assert_eq!(c.role, Role::RegistryLogin);
        assert_eq!(c.registry.as_deref(), Some("team"));
        assert_eq!(c.rule.as_deref(), Some("corp"));
        // The patterns are anchored even without ^ and $.
        assert_eq!(rules.classify("team.registry.corp.example.evil").role, Role::Other);
        assert_eq!(rules.classify("x.team.registry.corp.example").registry.as_deref(), None);

        std::fs::write(&path, "[[rule]]\nname = 3\n").unwrap();
        let msg = Rules::from_file(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:2:", path.display())), "{msg}");

        let missing = dir.join("missing.toml");
        let msg = Rules::from_file(&missing).unwrap_err().to_string();
        assert!(msg.starts_with(&missing.display().to_string()), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn issuers_expected_for_azure_hosts() {
        let rules = Rules::builtin();
        let ms = Some("Microsoft Corporation");
        for provider in ["acr", "azure", "mcr"] {
            for cn in [
                "Microsoft Azure RSA TLS Issuing CA 03",
                "Microsoft Azure RSA TLS Issuing CA 08",
                "Microsoft Azure ECC TLS Issuing CA 04",
                "Microsoft Azure TLS Issuing CA 05",
                "Microsoft RSA TLS CA 02",
            ] {
                assert_eq!(rules.issuer_expected(provider, Some(cn), ms), Some(true), "{provider} {cn}");
                assert_eq!(rules.issuer_expected(provider, Some(cn), None), Some(true), "{provider} {cn}");
            }
            assert_eq!(
                rules.issuer_expected(provider, Some("DigiCert Global G2 TLS RSA SHA256 2020 CA1"), None),
                Some(true)
            );
            assert_eq!(rules.issuer_expected(provider, None, Some("DigiCert Inc")), Some(true));
            assert_eq!(rules.issuer_expected(provider, Some("Some Other CA"), ms), Some(true), "by O alone");
            assert_eq!(
                rules.issuer_expected(provider, Some("microsoft azure rsa tls issuing ca 07"), None),
                Some(true)
            );
        }
    }

    #[test]
    fn an_inspection_ca_is_not_expected_and_unlisted_providers_are_not_judged() {
        let rules = Rules::builtin();
        let provider = rules.classify("fabrikamreg.azurecr.io").provider.unwrap();
        let fabrikam = (Some("Fabrikam Corp TLS Inspection CA"), Some("Fabrikam Corp"));
        assert_eq!(rules.issuer_expected(&provider, fabrikam.0, fabrikam.1), Some(false));
        let blob = rules.classify("jpeacrprod0st17.blob.core.windows.net").provider.unwrap();
        assert_eq!(rules.issuer_expected(&blob, fabrikam.0, fabrikam.1), Some(false));
        assert_eq!(rules.issuer_expected("acr", None, None), Some(false));
        // Near misses: not anchored at both ends, or a look-alike.
        assert_eq!(rules.issuer_expected("acr", Some("Evil Microsoft Azure RSA TLS Issuing CA 03"), None), Some(false));
        assert_eq!(
            rules.issuer_expected("acr", Some("Microsoft Azure RSA TLS Issuing CA 03 (inspect)"), None),
            Some(false)
        );
        assert_eq!(rules.issuer_expected("acr", None, Some("Microsoft Corporation Inspection")), Some(false));
        // Docker Hub's issuers change with its CDN: not judged.
        assert_eq!(rules.issuer_expected("docker-hub", fabrikam.0, fabrikam.1), None);
        assert_eq!(rules.issuer_expected("nope", fabrikam.0, fabrikam.1), None);
        assert!(rules.issuer_providers().any(|p| p == "acr"));
        assert_eq!(Rules::default().issuer_expected("acr", fabrikam.0, fabrikam.1), None);
    }

    #[test]
    fn bad_issuer_entries_name_the_line() {
        let head = "[[rule]]\nname = \"a\"\nprovider = \"corp\"\nrole = \"registry-login\"\npattern = 'a'\n";
        let text = format!("{head}[[issuer]]\nprovider = \"corp\"\nissuer_cn = ['Corp CA', '(unclosed']\n");
        let msg = Rules::from_toml(&text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:8: rule `issuer for corp`"), "{msg}");
        assert!(msg.contains("(unclosed"), "{msg}");

        let text = format!("{head}[[issuer]]\nprovider = \"crop\"\nissuer_o = ['Corp']\n");
        let msg = Rules::from_toml(&text, "r.toml").unwrap_err().to_string();
        assert!(msg.starts_with("r.toml:7:") && msg.contains("crop"), "{msg}");

        let text = format!("{head}[[issuer]]\nprovider = \"corp\"\n");
        let msg = Rules::from_toml(&text, "r.toml").unwrap_err().to_string();
        assert!(msg.contains("no pattern"), "{msg}");

        let text = format!("{head}[[issuer]]\nprovider = \"corp\"\nissuer_org = ['Corp']\n");
        let msg = Rules::from_toml(&text, "r.toml").unwrap_err().to_string();
        assert!(msg.contains("issuer_org"), "{msg}");

        let text = format!("{head}[[issuer]]\nprovider = \"corp\"\nissuer_o = ['Corp Inc']\n");
        let rules = Rules::from_toml(&text, "r.toml").unwrap();
        assert_eq!(rules.issuer_expected("corp", Some("x"), Some("CORP INC")), Some(true));
        assert_eq!(rules.issuer_expected("corp", Some("x"), Some("Corp")), Some(false));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let text = "[[rule]]\nname = \"specific\"\nprovider = \"p\"\nrole = \"registry-data\"\npattern = 'cdn\\.example'\n[[rule]]\nname = \"general\"\nprovider = \"p\"\nrole = \"registry-login\"\npattern = '.*\\.example'\n";
        let rules = Rules::from_toml(text, "r.toml").unwrap();
        assert_eq!(rules.classify("cdn.example").rule.as_deref(), Some("specific"));
        assert_eq!(rules.classify("www.example").rule.as_deref(), Some("general"));
        assert!(Rules::from_toml("", "empty.toml").unwrap().is_empty());
    }
}
