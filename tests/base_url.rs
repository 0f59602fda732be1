//! A base URL is where every credential goes: plain http only on the real loopback
//! interface, and nothing a URL parser could read two ways (issue 10, item 3).

use learner_sync::options::PlanOptions;
use learner_sync::sync::options::check_base_url;
use learner_sync::sync::{SyncEngine, SyncOptions};
use serde_json::json;

fn refused(url: &str) -> String {
    match check_base_url(url) {
        Ok(()) => panic!("{url:?} was accepted"),
        Err(e) => {
            assert_eq!(e.code(), "INVALID_OPTIONS", "{url:?}");
            e.to_string()
        }
    }
}

#[test]
fn plain_http_is_accepted_only_for_a_loopback_ipv4_literal_localhost_and_ipv6_loopback() {
    for ok in [
        "http://127.0.0.1",
        "http://127.0.0.1:8080/v2",
        "http://127.255.3.4:9/",
        "http://localhost:3000",
        "http://LocalHost",
        "http://[::1]:9/x",
        "https://api.fifoundry.net",
        "https://acme.learnifier.test/api/",
        "https://scim.example.org:8443/scim/v2",
        "https://[2001:db8::7]/v2",
    ] {
        assert!(check_base_url(ok).is_ok(), "{ok}: {:?}", check_base_url(ok));
    }
}

#[test]
fn a_host_that_only_starts_like_loopback_is_not_loopback() {
    for bad in [
        "http://127.0.0.1.evil.example",
        "http://127.attacker.example",
        "http://127.0.0.1.nip.io:80/x",
        "http://localhost.evil.com",
        "http://127.1",
        "http://127.0.0",
        "http://127.0.0.1.",
        "http://0127.0.0.1",
        "http://127.0.0.01",
        "http://0x7f.0.0.1",
        "http://127.0.0.256",
        "http://2130706433",
        "http://[::ffff:127.0.0.1]",
        "http://[0:0:0:0:0:0:0:1]",
        "http://10.0.0.5",
        "http://api.fifoundry.net",
    ] {
        refused(bad);
    }
    for named in ["http://127.0.0.1.evil.example", "http://127.attacker.example"] {
        let message = refused(named);
        assert!(message.contains("must be https") && message.contains("loopback"), "{named}: {message}");
    }
}

#[test]
fn non_ascii_whitespace_and_control_characters_are_refused_anywhere() {
    for bad in [
        "http://127\u{3002}0\u{3002}0\u{3002}1",
        "http://127.0.0.1\u{3002}evil.example",
        "https://api.example\u{ff0e}org",
        "http://127.0.0.1\t.evil.example",
        "http://127.0.0.1\n.evil.example",
        "https://api.example/v2\r\n",
        " https://api.example",
        "https://api.example/a b",
        "https://api.example/\u{202e}x",
        "https://api.exa\u{0}mple",
        "https://api.example/\u{7f}",
        "https://ap\u{ad}i.example",
    ] {
        let message = refused(bad);
        assert!(message.contains("U+"), "{bad:?}: {message}");
        // The character is named, never echoed raw.
        assert!(!message.chars().any(|c| c.is_control() || !c.is_ascii()), "{bad:?}: {message:?}");
    }
}

#[test]
fn a_query_a_fragment_userinfo_or_a_backslash_is_refused() {
    for bad in [
        "https://h#frag",
        "https://h/v2#",
        "https://h?x=1",
        "https://h/v2?",
        "https://user:pw@host",
        "https://user@host",
        "http://x@127.0.0.1",
        "http://127.0.0.1\\@evil.example",
        "https://h\\v2",
    ] {
        refused(bad);
    }
    // The password in a URL's user information is never echoed.
    for with_password in ["https://user:pw-9f3a@host", "http://user:pw-9f3a@api.example.org/v2", "user:pw-9f3a@host/x"]
    {
        let message = refused(with_password);
        assert!(!message.contains("pw-9f3a") && message.contains("***@"), "{message}");
    }
}

#[test]
fn a_host_port_or_path_a_parser_would_rewrite_is_refused() {
    for bad in [
        "https://",
        "https:///path",
        "https://:443",
        "https://h:",
        "https://h:99999",
        "https://h:8a",
        "https://%68.example",
        "https://h..example",
        "https://.h",
        "https://h/v2/../admin",
        "https://h/v2/%2e%2e/admin",
        "https://h/./v2",
        "ftp://x",
        "javascript:alert(1)",
    ] {
        refused(bad);
    }
}

#[test]
fn a_run_whose_base_url_is_refused_never_starts() {
    let options = PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    for base in
        ["http://127.0.0.1.evil.example", "http://127\u{3002}0\u{3002}0\u{3002}1", "https://h#frag", "https://h?x=1"]
    {
        let cfg = json!({"baseUrl": base, "credentials": {"clientId": "id", "clientSecret": "client-secret-1"}});
        let config = SyncOptions::from_json(cfg.to_string().as_bytes()).unwrap();
        let err = SyncEngine::new(options.clone(), config).err().expect("refused");
        assert_eq!(err.code(), "INVALID_OPTIONS", "{base:?}");
        assert!(!err.to_string().contains("client-secret-1"));
    }
}
