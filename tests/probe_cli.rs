//! `acrscope probe` without root: what a user gets wrong is said with how to fix it, and a
//! resolver that is not there ends the probe with a finding, within its time.

use std::process::{Command, Output};

fn probe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acrscope"))
        .arg("probe")
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .unwrap()
}

#[test]
fn bad_arguments_exit_2_and_say_what_to_give() {
    for (args, says) in [
        (&["fab rikam"][..], "give `fabrikamreg` or `fabrikamreg.azurecr.io`"),
        (&["fabrikamreg", "--resolver", "dns.example"], "give an address"),
        (&["fabrikamreg", "--timeout", "0"], "give seconds"),
        (
            &["fabrikamreg", "--ca-file", "/nonexistent/ca.pem", "--resolver", "127.0.0.1:9"],
            "--ca-file /nonexistent/ca.pem",
        ),
    ] {
        let out = probe(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn an_https_proxy_of_another_scheme_is_refused_with_the_form_to_give() {
    let out = Command::new(env!("CARGO_BIN_EXE_acrscope"))
        .args(["probe", "fabrikamreg", "--resolver", "127.0.0.1:9"])
        .env("HTTPS_PROXY", "socks5://127.0.0.1:1080")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the proxy as http://host:port"));
}

/// Nothing listens on the discard port: the query is refused at once (ICMP port
/// unreachable on loopback), and the probe says the name did not resolve, and why.
#[test]
fn a_resolver_that_is_not_there_is_a_dns_failure_and_fail_on_exits_3() {
    let out = probe(&["fabrikamreg", "--resolver", "127.0.0.1:9", "--timeout", "2", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = r["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["dns-failure"]);
    assert_eq!(r["findings"][0]["rcode"], "no answer");
    assert_eq!(r["endpoints"][0]["dns"][0]["error"].as_str().map(|e| e.contains("127.0.0.1:9")), Some(true));
    assert!(r["elapsed_s"].as_f64().unwrap() < 2.0);
    let out = probe(&["fabrikamreg", "--resolver", "127.0.0.1:9", "--timeout", "2", "--fail-on", "error"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VERDICT: a pull from fabrikamreg fails from this host"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("dns-failure"));
}
