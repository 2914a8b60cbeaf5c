//! What an operator installs: the licences and manifests (from `cargo metadata`), the
//! declared `rust-version` against what the dependency tree needs.

use std::process::Command;

use serde::Deserialize;

use crate::common::{root, run_command};

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    license: Option<String>,
    repository: Option<String>,
    homepage: Option<String>,
    rust_version: Option<String>,
}

fn metadata() -> Metadata {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .args(["metadata", "--format-version", "1", "--locked", "--offline"]);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "cargo metadata: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// "1.88" or "1.85.0" as (major, minor, patch).
fn version(text: &str) -> (u32, u32, u32) {
    let mut parts = text.split('.').map(|p| p.parse::<u32>().unwrap());
    let major = parts.next().unwrap();
    (major, parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Every crate of ours says its licence (the one LICENSE-APACHE and LICENSE-MIT hold) and
/// names no repository or home page (there is no public one).
#[test]
fn every_crate_says_its_licence_and_no_made_up_repository() {
    for f in ["LICENSE-APACHE", "LICENSE-MIT"] {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        assert!(text.len() > 1000, "{f}");
    }
    let apache = std::fs::read_to_string(root().join("LICENSE-APACHE")).unwrap();
    assert!(
        apache.contains("Apache License\n                           Version 2.0, January 2004")
    );
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    let mit = std::fs::read_to_string(root().join("LICENSE-MIT")).unwrap();
    assert!(mit.contains("THE SOFTWARE IS PROVIDED \"AS IS\""));
    let m = metadata();
    let ours: Vec<&Package> = m
        .packages
        .iter()
        .filter(|p| m.workspace_members.contains(&p.id))
        .collect();
    assert!(ours.len() >= 7, "{}", ours.len());
    for p in ours {
        assert_eq!(
            p.license.as_deref(),
            Some("Apache-2.0 OR MIT"),
            "{}",
            p.name
        );
        assert_eq!(p.repository, None, "{}", p.name);
        assert_eq!(p.homepage, None, "{}", p.name);
    }
}

/// The workspace's rust-version is at least what every package in Cargo.lock declares it
/// needs (hickory-proto 0.26.3: 1.88), and the README says the same.
#[test]
fn rust_version_covers_the_dependency_tree() {
    let m = metadata();
    let declared = m
        .packages
        .iter()
        .find(|p| p.name == "dane-cli")
        .and_then(|p| p.rust_version.clone())
        .expect("dane-cli declares a rust-version");
    let too_new: Vec<String> = m
        .packages
        .iter()
        .filter(|p| !m.workspace_members.contains(&p.id))
        .filter_map(|p| {
            let needs = p.rust_version.as_deref()?;
            (version(needs) > version(&declared))
                .then(|| format!("{} {} needs {needs}", p.name, p.version))
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "rust-version {declared} is too old: {too_new:?}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {declared} or newer")),
        "the README's Install section does not say Rust {declared}"
    );
}
