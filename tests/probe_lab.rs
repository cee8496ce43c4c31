//! `acrscope probe` against a registry lab on loopback, in a network namespace each test makes
//! (tests/probe_lab/lab.py: a DNS server with the registry's CNAME chains, TLS servers for the
//! login server, data endpoint and storage account with certificates of a throw-away CA, a
//! proxy; black-holed addresses on a veth pair). Root: the namespace.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use serde_json::Value;

/// A running lab; dropping it stops the lab (its standard input closes) and the namespace.
struct Lab {
    ns: String,
    work: PathBuf,
    child: Option<Child>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Lab {
    fn start(scenario: &str) -> Lab {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let ns = format!("acrprobe-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let work = std::env::temp_dir().join(&ns);
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let made = Command::new("ip").args(["netns", "add", &ns]).status().expect("ip (iproute2)");
        assert!(made.success(), "ip netns add {ns}");
        let mut lab = Lab { ns, work, child: None };
        let script = root().join("tests/probe_lab/lab.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.ns, "python3"])
            .arg(&script)
            .arg(scenario)
            .arg(&lab.work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        // The lab says `ready` once every server listens: an event, not a delay.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        lab.child = Some(child);
        assert_eq!(line.trim(), "ready", "the lab did not start; see {}", lab.work.join("lab.log").display());
        lab
    }

    /// The probe inside the namespace, asking the lab's DNS server and trusting its CA.
    fn probe(&self, args: &[&str], env: &[(&str, &str)]) -> (Value, i32, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, env!("CARGO_BIN_EXE_acrscope"), "probe", "fabrikamreg"])
            .args(["--resolver", "127.0.0.53", "--format", "json", "--ca-file"])
            .arg(self.work.join("ca.pem"))
            .args(args)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
        (json, out.status.code().unwrap_or(-1), stderr)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// `kind host severity` of every finding.
fn findings(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["kind"].as_str().unwrap(),
                f["hosts"][0].as_str().unwrap_or("-"),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

fn finding<'a>(r: &'a Value, kind: &str) -> &'a Value {
    r["findings"].as_array().unwrap().iter().find(|f| f["kind"] == kind).unwrap_or_else(|| panic!("no {kind}: {r:#}"))
}

fn endpoint<'a>(r: &'a Value, host: &str) -> &'a Value {
    r["endpoints"].as_array().unwrap().iter().find(|e| e["host"] == host).unwrap_or_else(|| panic!("no {host}: {r:#}"))
}

const LOGIN: &str = "fabrikamreg.azurecr.io";
const DATA: &str = "fabrikamreg.japaneast.data.azurecr.io";

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_healthy_registry_has_no_findings_but_where_its_layers_come_from() {
    let lab = Lab::start("healthy");
    let (r, code, _) = lab.probe(&["--image", "library/hello:latest", "--fail-on", "warning"], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(findings(&r), [format!("data-via-dedicated-endpoint {DATA} info")]);
    let login = endpoint(&r, LOGIN);
    assert_eq!((login["verdict"].as_str(), login["role"].as_str()), (Some("ok"), Some("acr-login")));
    assert_eq!(login["dns"][0]["chain"][1], "jpeacr2.japaneast.cloudapp.azure.com");
    let a = &login["addresses"][0];
    assert_eq!(a["http"]["status"], 401);
    assert!(a["http"]["www_authenticate"].as_str().unwrap().starts_with("Bearer realm="));
    assert_eq!(a["tls"]["verified"], true);
    assert_eq!(a["tls"]["certificate"]["issuer_expected"], true);
    assert!(a["connect"]["tcp"]["rtt_ms"].as_f64().is_some());
    let data = endpoint(&r, DATA);
    assert_eq!((data["why"].as_str(), data["region"].as_str()), (Some("dedicated data endpoint"), Some("japaneast")));
    assert_eq!(data["dns"][0]["chain"].as_array().unwrap().len(), 4);
    assert_eq!(r["image"]["redirect_host"], DATA);
    assert_eq!(r["image"]["download"]["bytes"], 8 << 20, "the whole 8 MiB layer is under the bound");
    assert_eq!(r["notes"].as_array().unwrap().len(), 0);
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn without_a_dedicated_endpoint_the_layer_comes_from_the_storage_account() {
    let lab = Lab::start("healthy-blob");
    let (r, code, _) = lab.probe(&["--image", "library/hello:latest", "--fail-on", "warning"], &[]);
    assert_eq!(code, 0, "{r:#}");
    let f = findings(&r);
    assert!(f.contains(&format!("data-via-storage-account {DATA} info")), "{f:?}");
    assert!(f.contains(&"data-via-storage-account jpeacrprod0st17.blob.core.windows.net info".to_string()), "{f:?}");
    assert_eq!(endpoint(&r, "jpeacrprod0st17.blob.core.windows.net")["role"], "acr-data-blob");
    assert_eq!(r["image"]["download"]["bytes"], 8 << 20);
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_data_endpoint_that_drops_the_connection_times_out_within_the_limit() {
    let lab = Lab::start("data-timeout");
    let started = Instant::now();
    let (r, code, stderr) = lab.probe(&["--timeout", "2", "--fail-on", "error"], &[]);
    assert!(started.elapsed().as_secs_f64() < 2.5, "{:?}", started.elapsed());
    assert_eq!(code, 3, "--fail-on error: {stderr}");
    assert!(stderr.contains("connect-timeout"), "{stderr}");
    assert_eq!(findings(&r), [format!("connect-timeout {DATA} error")]);
    assert_eq!(finding(&r, "connect-timeout")["addresses"][0], "10.77.0.9");
    assert_eq!(endpoint(&r, LOGIN)["verdict"], "ok");
    assert_eq!(endpoint(&r, DATA)["addresses"][0]["connect"]["outcome"], "timeout");
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_data_endpoint_that_refuses_is_named() {
    let lab = Lab::start("refused");
    let (r, _, _) = lab.probe(&[], &[]);
    assert_eq!(findings(&r), [format!("connect-refused {DATA} error")]);
    assert_eq!(finding(&r, "connect-refused")["port"], 443);
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn an_inspection_ca_is_named_by_issuer_trusted_or_not() {
    let lab = Lab::start("inspection");
    let (r, _, _) = lab.probe(&[], &[]);
    assert_eq!(findings(&r), [format!("tls-intercepted {LOGIN} error")]);
    let f = finding(&r, "tls-intercepted");
    assert_eq!(f["issuer_cn"], "Fabrikam Corp TLS Inspection CA");
    let chain = &endpoint(&r, LOGIN)["addresses"][0]["tls"]["chain"];
    assert!(chain[0]["issuer"].as_str().unwrap().contains("CN=Fabrikam Corp TLS Inspection CA"), "{chain}");
    assert_eq!(endpoint(&r, LOGIN)["addresses"][0]["tls"]["verified"], false);
    // Trusted (its CA installed on the host) it still is interception: a warning.
    let inspection = lab.work.join("inspection-ca.pem");
    let (r, _, _) = lab.probe(&["--ca-file", inspection.to_str().unwrap()], &[]);
    assert_eq!(findings(&r), [format!("tls-intercepted {LOGIN} warning")]);
    assert_eq!(endpoint(&r, LOGIN)["addresses"][0]["tls"]["verified"], true);
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_private_link_name_without_its_record_names_the_zone_and_the_record() {
    let lab = Lab::start("privatelink-missing");
    let (r, _, _) = lab.probe(&[], &[]);
    assert_eq!(findings(&r), [format!("private-link-record-missing {LOGIN} error")]);
    let f = finding(&r, "private-link-record-missing");
    assert_eq!((f["zone"].as_str(), f["record"].as_str()), (Some("privatelink.azurecr.io"), Some("fabrikamreg")));
    assert_eq!(f["chain"][1], "fabrikamreg.privatelink.azurecr.io");
    assert!(r["notes"][0].as_str().unwrap().contains("dedicated data endpoint was not checked"), "{r:#}");
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_proxy_refusing_connect_is_named_with_its_answer() {
    let lab = Lab::start("proxy-refused");
    let (r, _, _) = lab.probe(&[], &[("HTTPS_PROXY", "http://127.0.0.9:3128")]);
    assert_eq!(findings(&r), [format!("proxy-refused {LOGIN} error"), format!("via-proxy {LOGIN} info")]);
    let f = finding(&r, "proxy-refused");
    assert_eq!((f["status"].as_u64(), f["proxy"].as_str()), (Some(403), Some("127.0.0.9:3128")));
    // NO_PROXY as Docker reads it: the registry is reached directly, and works.
    let (r, _, _) = lab.probe(&[], &[("HTTPS_PROXY", "http://127.0.0.9:3128"), ("NO_PROXY", ".azurecr.io")]);
    assert_eq!(findings(&r), Vec::<String>::new());
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn a_proxy_that_tunnels_carries_the_whole_pull() {
    let lab = Lab::start("proxy-ok");
    let (r, _, _) = lab.probe(&["--image", "library/hello"], &[("HTTPS_PROXY", "127.0.0.9:3128")]);
    let f = findings(&r);
    assert!(f.iter().all(|f| f.ends_with(" info")), "{f:?}");
    assert_eq!(finding(&r, "via-proxy")["proxy"], "127.0.0.9:3128");
    assert_eq!(r["image"]["download"]["bytes"], 8 << 20);
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn ipv6_answers_that_do_not_connect_are_a_fallback_and_ipv4_only_is_clean() {
    let lab = Lab::start("ipv6-broken");
    let (r, _, _) = lab.probe(&["--timeout", "2"], &[]);
    assert_eq!(findings(&r), [format!("ipv6-fallback {LOGIN} warning"), format!("ipv6-fallback {DATA} warning")]);
    let f = finding(&r, "ipv6-fallback");
    assert_eq!((f["broken_family"].as_str(), f["fallback_to"].as_str()), (Some("ipv6"), Some("127.0.10.1")));
    let (r, _, _) = lab.probe(&["--ipv4"], &[]);
    assert_eq!(findings(&r), Vec::<String>::new());
    let (r, _, _) = lab.probe(&["--ipv6", "--timeout", "1"], &[]);
    assert_eq!(findings(&r)[0], format!("connect-timeout {LOGIN} error"));
}

#[test]
#[ignore = "needs root: makes a network namespace for the registry lab"]
fn an_unknown_name_and_a_silent_resolver_end_within_the_timeout() {
    let lab = Lab::start("healthy");
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns, env!("CARGO_BIN_EXE_acrscope"), "probe", "nosuchreg"])
        .args(["--resolver", "127.0.0.53", "--format", "json", "--timeout", "2"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&r), ["dns-failure nosuchreg.azurecr.io error"]);
    assert_eq!(finding(&r, "dns-failure")["rcode"], "NXDOMAIN");
    let started = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns, env!("CARGO_BIN_EXE_acrscope"), "probe", "fabrikamreg"])
        .args(["--resolver", "10.77.0.9", "--timeout", "1.5"])
        .output()
        .unwrap();
    assert!(started.elapsed().as_secs_f64() < 2.0, "{:?}", started.elapsed());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[dns-failure] fabrikamreg.azurecr.io did not resolve: no answer"), "{text}");
    assert!(text.contains("allow UDP and TCP port 53"), "{text}");
}
