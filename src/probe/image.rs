//! `--image`: the steps of a pull after `/v2/` — a token, the manifest, the first layer's
//! redirect — and a bounded range of that layer from the host it redirects to.

use std::time::Instant;

use base64::Engine;
use serde_json::Value;

use super::conn::ms_since;
use super::endpoint::{self, url_target, Context, Target, BODY_LIMIT};
use super::http;
use super::result::{Download, EndpointCheck, Http, ImageCheck};
use super::tcpinfo;

/// Enough of a layer to measure the path's throughput, little enough to be polite.
pub const DOWNLOAD_LIMIT: u64 = 16 << 20;

const ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Follows `reference` to its first layer; the endpoint the layer's 307 named, checked.
pub fn follow(
    cx: &Context,
    endpoints: &[EndpointCheck],
    login: &Target,
    reference: &str,
    credentials: Option<&(String, String)>,
) -> (ImageCheck, Option<EndpointCheck>) {
    let mut check = ImageCheck { reference: reference.to_string(), ..ImageCheck::default() };
    let (repo, tag) = split_reference(reference);
    let pull = Pull { cx, endpoints, login, repo, tag, credentials };
    let mut redirect = None;
    if let Err(e) = pull.steps(&mut check, &mut redirect) {
        check.error = Some(e);
    }
    (check, redirect)
}

/// What the steps of one image's pull share.
struct Pull<'a> {
    cx: &'a Context<'a>,
    endpoints: &'a [EndpointCheck],
    login: &'a Target,
    repo: String,
    tag: String,
    credentials: Option<&'a (String, String)>,
}

impl Pull<'_> {
    fn steps(&self, check: &mut ImageCheck, redirect: &mut Option<EndpointCheck>) -> Result<(), String> {
        let Pull { cx, endpoints, login, repo, tag, credentials } = self;
        let (cx, endpoints, login, credentials) = (*cx, *endpoints, *login, *credentials);
        let login_ep = &endpoints[0];
        let challenge = login_ep.addresses.iter().find_map(|a| a.http.as_ref()?.www_authenticate.clone());
        let auth = match challenge.filter(|c| c.to_ascii_lowercase().starts_with("bearer")) {
            Some(c) => Some(format!("Bearer {}", self.token(&c, check)?)),
            None => credentials.map(|(u, p)| format!("Basic {}", b64(&format!("{u}:{p}")))),
        };
        let headers = |extra: &'static [(&'static str, &'static str)]| {
            let mut h: Vec<(&str, &str)> = extra.to_vec();
            if let Some(a) = &auth {
                h.push(("Authorization", a.as_str()));
            }
            h
        };
        let body =
            request(cx, login_ep, login, &format!("/v2/{repo}/manifests/{tag}"), &headers(&[("Accept", ACCEPT)]));
        let (h, manifest) = body?;
        check.manifest = Some(h.clone());
        let mut manifest = ok_json(&h, &manifest, "the manifest")?;
        if let Some(digest) = platform_manifest(&manifest) {
            let (h, m) = request(
                cx,
                login_ep,
                login,
                &format!("/v2/{repo}/manifests/{digest}"),
                &headers(&[("Accept", ACCEPT)]),
            )?;
            manifest = ok_json(&h, &m, "the platform's manifest")?;
        }
        let digest = manifest["layers"][0]["digest"].as_str().ok_or("the manifest lists no layer")?.to_string();
        check.layer_digest = Some(digest.clone());
        let (blob, _) = request(cx, login_ep, login, &format!("/v2/{repo}/blobs/{digest}"), &headers(&[]))?;
        check.blob = Some(blob.clone());
        let location = blob.location.clone().filter(|_| matches!(blob.status, Some(301..=308)));
        let Some(location) = location else {
            return Err(format!("the layer was not redirected: {}", blob.status_line.unwrap_or_default()));
        };
        let target = url_target(&location).ok_or_else(|| format!("the layer's redirect is not https: {location}"))?;
        check.redirect_host = Some(target.host.clone());
        let known = endpoints.iter().find(|e| e.host == target.host).cloned();
        let ep = known.unwrap_or_else(|| cx.endpoint(&target, "layer redirect", None));
        check.download = Some(download(cx, &ep, &target, &location));
        *redirect = Some(ep);
        Ok(())
    }

    /// The token the realm gives for pulling `repo` (anonymously, or with the credentials).
    fn token(&self, challenge: &str, check: &mut ImageCheck) -> Result<String, String> {
        let (cx, endpoints, repo, credentials) = (self.cx, self.endpoints, &self.repo, self.credentials);
        let realm = endpoint::param(challenge, "realm").ok_or("the challenge names no realm")?;
        let target = url_target(&realm).ok_or_else(|| format!("the realm is not an https URL: {realm}"))?;
        let service = endpoint::param(challenge, "service").unwrap_or_default();
        let path_of = |u: &str| u.strip_prefix("https://").and_then(|r| r.find('/').map(|i| r[i..].to_string()));
        let sep = if realm.contains('?') { '&' } else { '?' };
        let path =
            format!("{}{sep}service={service}&scope=repository:{repo}:pull", path_of(&realm).unwrap_or("/".into()));
        let basic = credentials.map(|(u, p)| format!("Basic {}", b64(&format!("{u}:{p}"))));
        let headers: Vec<(&str, &str)> = basic.as_deref().map(|b| vec![("Authorization", b)]).unwrap_or_default();
        let ep = endpoints.iter().find(|e| e.host == target.host).ok_or("the realm's host was not checked")?;
        let (h, body) = request(cx, ep, &target, &path, &headers)?;
        check.token = Some(h.clone());
        let json = ok_json(&h, &body, "the token")?;
        let token =
            json["token"].as_str().or(json["access_token"].as_str()).ok_or("the token answer holds no token")?;
        Ok(token.to_string())
    }
}

/// One request on a fresh connection to `ep`; its answer and body.
fn request(
    cx: &Context,
    ep: &EndpointCheck,
    t: &Target,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Http, Vec<u8>), String> {
    let mut s = cx.reconnect(ep, t)?;
    let mut h = Http { request: format!("GET {}", path.split('?').next().unwrap_or(path)), ..Http::default() };
    let (head, rest) = http::get_head(&mut s, &t.host, path, headers).map_err(|e| format!("{}: {e}", h.request))?;
    endpoint::fill(&mut h, &head);
    let body = http::read_body(&mut s, &head, rest, BODY_LIMIT, &mut |_| {}).unwrap_or_default();
    (cx.progress)(&format!("{} {}: {}", t.host, h.request, head.line));
    Ok((h, body))
}

fn ok_json(h: &Http, body: &[u8], what: &str) -> Result<Value, String> {
    if h.status != Some(200) {
        return Err(format!("{what}: {}", h.status_line.clone().unwrap_or_default()));
    }
    serde_json::from_slice(body).map_err(|e| format!("{what} is not JSON: {e}"))
}

/// An index's manifest for linux/amd64 (the first, when none says so).
fn platform_manifest(m: &Value) -> Option<String> {
    let list = m["manifests"].as_array()?;
    let linux = list.iter().find(|e| e["platform"]["os"] == "linux" && e["platform"]["architecture"] == "amd64");
    linux.or(list.first())?["digest"].as_str().map(str::to_string)
}

/// `repo:tag`, `repo@sha256:…`, or `repo` (`latest`).
pub fn split_reference(r: &str) -> (String, String) {
    if let Some((repo, digest)) = r.split_once('@') {
        return (repo.to_string(), digest.to_string());
    }
    match r.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
        Some((repo, tag)) => (repo.to_string(), tag.to_string()),
        None => (r.to_string(), "latest".to_string()),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The first [`DOWNLOAD_LIMIT`] bytes of the layer, from where the redirect points.
fn download(cx: &Context, ep: &EndpointCheck, t: &Target, location: &str) -> Download {
    let mut d = Download { bytes: 0, ms_to_first_byte: 0.0, seconds: 0.0, mbit_per_s: 0.0, tcp: None, error: None };
    let path = location.strip_prefix("https://").and_then(|r| r.find('/').map(|i| &r[i..])).unwrap_or("/");
    let range = format!("bytes=0-{}", DOWNLOAD_LIMIT - 1);
    let started = Instant::now();
    let result = cx.reconnect(ep, t).and_then(|mut s| {
        let (head, rest) = http::get_head(&mut s, &t.host, path, &[("Range", &range)]).map_err(|e| e.to_string())?;
        d.ms_to_first_byte = head.ttfb_ms;
        if !matches!(head.status, 200 | 206) {
            return Err(format!("the layer's download answered {}", head.line));
        }
        let mut bytes = 0u64;
        let body = http::read_body(&mut s, &head, rest, 0, &mut |n| bytes += n as u64);
        d.tcp = tcpinfo::read(&s.sock);
        d.bytes = bytes;
        body.map(|_| ()).map_err(|e| e.to_string())
    });
    d.seconds = ms_since(started) / 1e3;
    d.mbit_per_s = if d.seconds > 0.0 { d.bytes as f64 * 8.0 / d.seconds / 1e6 } else { 0.0 };
    d.error = result.err();
    (cx.progress)(&format!("{} download: {} bytes in {:.2} s", t.host, d.bytes, d.seconds));
    d
}

/// The credentials `docker login` stored for `host` in $DOCKER_CONFIG/config.json (or
/// ~/.docker/config.json); a credential helper's are not read.
pub fn docker_credentials(host: &str) -> Option<(String, String)> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    credentials_in(&std::fs::read(dir.join("config.json")).ok()?, host)
}

fn credentials_in(config: &[u8], host: &str) -> Option<(String, String)> {
    let config: Value = serde_json::from_slice(config).ok()?;
    let auth = config["auths"][host]["auth"].as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(auth).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(split_reference("library/hello:1.0"), ("library/hello".into(), "1.0".into()));
        assert_eq!(split_reference("hello"), ("hello".into(), "latest".into()));
        assert_eq!(split_reference("a/b@sha256:00"), ("a/b".into(), "sha256:00".into()));
        let index = serde_json::json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}]});
        assert_eq!(platform_manifest(&index).as_deref(), Some("sha256:amd"));
        assert_eq!(platform_manifest(&serde_json::json!({"layers": []})), None);
    }

    #[test]
    fn credentials_docker_login_left() {
        let config = br#"{"auths": {"fabrikamreg.azurecr.io": {"auth": "MDAwMDAwMDAtMDAwMDpwYTpzcw=="}},
                          "credsStore": "desktop"}"#;
        let got = credentials_in(config, "fabrikamreg.azurecr.io");
        assert_eq!(got, Some(("00000000-0000".into(), "pa:ss".into())));
        assert_eq!(credentials_in(config, "other.azurecr.io"), None);
        assert_eq!(credentials_in(b"not json", "fabrikamreg.azurecr.io"), None);
        assert_eq!(credentials_in(br#"{"auths": {"h": {"auth": "!!"}}}"#, "h"), None);
    }
}
