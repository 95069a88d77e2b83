//! The command line: help that only helps, a version, errors that name the
//! flag, and a taken port refused before anything is created.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn aftercare(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("AFTERCARE_JWT_SECRET")
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn help_only_prints_help_and_touches_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("aftercare.db");
    for command in [
        "serve",
        "migrate",
        "create-user",
        "openapi",
        "seed-demo",
        "sweep",
        "healthcheck",
    ] {
        let out = aftercare(&db, &[command, "--help"]);
        assert!(out.status.success(), "{command} --help failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: aftercare"), "{command}: {text}");
        assert!(!db.exists(), "{command} --help opened the database");
    }
    let out = aftercare(&db, &["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("aftercare "));
    assert!(!db.exists());
}

#[test]
fn create_user_names_every_missing_flag_at_once_and_bad_values_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aftercare.db");
    let out = aftercare(&db, &["create-user", "--username", "someone"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for flag in ["--password", "--role", "--display-name"] {
        assert!(err.contains(flag), "{flag} not named: {err}");
    }
    let out = aftercare(
        &db,
        &[
            "create-user",
            "--username",
            "someone",
            "--password",
            "short",
            "--role",
            "staff",
            "--display-name",
            "Some One",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--password"), "{err}");
    assert!(!err.contains("display_name"), "{err}");
}

#[test]
fn a_taken_port_is_refused_before_the_database_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aftercare.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("AFTERCARE_BIND", &addr)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AFTERCARE_BIND"), "{err}");
    // no admin was created whose one-time password would have been lost
    assert!(!db.exists());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password"));
}
