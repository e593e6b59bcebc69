//! Unit tests of the configuration: unknown keys with file and line, `${ENV}`
//! secrets, routing, invalid values.
use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn unknown_key_names_file_and_line() {
    let text = "rules_dir = \"rules\"\n[mapping]\ntinyint1_as_bool = true\n";
    let err = Config::parse("ddlsync.toml", text, &no_env).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("ddlsync.toml:3: unknown field `tinyint1_as_bool`"),
        "{msg}"
    );
}

#[test]
fn env_references_expand_and_missing_ones_fail() {
    let text = "[starrocks]\nquery = \"127.0.0.1:9030\"\npassword = \"${SR_PW}\"\n";
    let env = |v: &str| (v == "SR_PW").then(|| "s3cret".to_owned());
    let cfg = Config::parse("c.toml", text, &env).unwrap();
    let sr = cfg.starrocks.unwrap();
    assert_eq!(sr.password.expose(), "s3cret");
    assert!(!format!("{sr:?}").contains("s3cret"));
    let err = Config::parse("c.toml", text, &no_env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.toml: starrocks.password: environment variable SR_PW is not set"
    );
}

#[test]
fn routes_follow_first_match_and_default_to_same_name() {
    let text = r#"
[[tables]]
source = "inventory.customers"
target = "analytics.clients"
[[tables]]
source = "inventory.*"
target_database = "ods"
targets = ["mirror", "raw", "current_state_mv"]
"#;
    let cfg = Config::parse("c.toml", text, &no_env).unwrap();
    let r = cfg.route(&TableId::new("inventory", "customers")).unwrap();
    assert_eq!(r.target, TableId::new("analytics", "clients"));
    let r = cfg.route(&TableId::new("inventory", "orders")).unwrap();
    assert_eq!(r.target, TableId::new("ods", "orders"));
    assert_eq!(r.targets.len(), 3);
    assert!(cfg.route(&TableId::new("public", "orders")).is_none());
    let empty = Config::parse("c.toml", "", &no_env).unwrap();
    assert_eq!(
        empty.route(&TableId::new("public", "t")).unwrap().target,
        TableId::new("public", "t")
    );
}

#[test]
fn invalid_values_are_refused() {
    for (text, needle) in [
        (
            "[[tables]]\nsource = \"nodot\"\n",
            "must be `database.table`",
        ),
        (
            "[[tables]]\nsource = \"a.*\"\ntarget = \"b.c\"\n",
            "target_database",
        ),
        (
            "[[tables]]\nsource = \"a.b\"\ntargets = [\"current_state_mv\"]\n",
            "add `raw`",
        ),
        ("[starrocks]\nquery = \"nohost\"\n", "host:port"),
        ("[mapping]\ndefault_bytes_per_char = 9\n", "must be 1 to 4"),
    ] {
        let err = Config::parse("c.toml", text, &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{text:?} gave {err}");
    }
}
