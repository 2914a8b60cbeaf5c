//! What an operator installs: the licences and manifests (from `cargo metadata`), the
//! declared `rust-version` against what the dependency tree needs.

use std::process::Command;

use serde::Deserialize;

use dane_testenv::schema::SchemaDoc;

use crate::common::{fixture, root, run, run_command, temp_file};

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

/// Real `--json` documents of every versioned kind: `dane verify` (every captured interop
/// run replayed, and a rollover pre-check), `dane dnssec` (every case the fixtures' NSD
/// serves), `dane scan` (NDJSON lines), the evidence bundles those runs were recorded in,
/// `dane zone check` (every fixture zone), `dane tlsa generate` and `dane tlsa match` (the
/// test PKI), keyed by the schema they must follow. The rollover documents and state files
/// are checked where the rollover suites make them (tests/cli/rollover.rs, the e2e suite).
fn json_documents() -> Vec<SchemaDoc> {
    let mut docs = Vec::new();
    let evidence = root().join("fixtures/interop/evidence");
    let mut files: Vec<_> = std::fs::read_dir(&evidence)
        .unwrap()
        .chain(std::fs::read_dir(evidence.join("services")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in &files {
        let path = f.display().to_string();
        let bundle = std::fs::read_to_string(f).unwrap();
        docs.push(SchemaDoc::new("verify-evidence", path.clone(), bundle));
        let mut runs = vec![vec!["verify", "--evidence", path.as_str(), "--json"]];
        if f.ends_with("ee311.test.json") {
            let csr = fixture("pki/next.csr");
            runs.push(vec!["verify", "--evidence", &path, "--json", "--csr"]);
            runs.last_mut()
                .unwrap()
                .push(Box::leak(csr.into_boxed_str()));
        }
        for args in runs {
            docs.push(json_of("verify", &args));
        }
    }
    docs.extend(dns_documents());
    docs.extend(offline_documents());
    docs
}

/// `dane ARGS`'s stdout as a document of `kind`; it must be one JSON document.
fn json_of(kind: &str, args: &[&str]) -> SchemaDoc {
    let out = run(args);
    assert!(!out.stdout.is_empty(), "{args:?}: {}", out.stderr);
    let _: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}{}", out.stdout, out.stderr));
    SchemaDoc::new(kind, format!("{args:?}"), out.stdout)
}

/// `dane dnssec` over every case of fixtures/dns/cases.tsv, and `dane scan` over a secure
/// MX with an unreachable host, a domain without one, a bogus one and none, from the
/// fixtures' NSD.
fn dns_documents() -> Vec<SchemaDoc> {
    let mut docs = Vec::new();
    let nsd = dane_testenv::Nsd::start_fixtures().expect("start nsd (scripts/install-test-deps)");
    let server = format!("127.0.0.1:{}", nsd.port());
    let anchor = fixture("dns/anchors/root.ds");
    let flags = [
        "--resolver",
        server.as_str(),
        "--no-iterate",
        "--trust-anchor",
        anchor.as_str(),
        "--at",
        "2026-12-01T00:00:00Z",
    ];
    let cases = std::fs::read_to_string(root().join("fixtures/dns/cases.tsv")).unwrap();
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (name, rtype) = (cols.next().unwrap(), cols.next().unwrap());
        let mut args = vec!["dnssec", name, rtype, "--json"];
        args.extend_from_slice(&flags);
        docs.push(json_of("dnssec", &args));
    }
    // A resolver that is not there, under --no-iterate: the local-fault documents.
    let gone = ["--resolver", "127.0.0.1:9", "--no-iterate"];
    docs.push(json_of(
        "dnssec",
        &[&["dnssec", "example.com", "MX", "--json"][..], &gone].concat(),
    ));
    docs.push(json_of(
        "verify",
        &[&["verify", "example.com", "--json"][..], &gone].concat(),
    ));
    // `dane dnssec --evidence`: a question of a saved run, replayed (issue 26).
    let saved = root()
        .join("fixtures/interop/evidence/twomx.test.json")
        .display()
        .to_string();
    docs.push(json_of(
        "dnssec",
        &[
            "dnssec",
            "_25._tcp.mx1.twomx.test",
            "TLSA",
            "--evidence",
            &saved,
            "--json",
        ],
    ));
    let domains = [
        "mixed.test.",
        "test.",
        "alg13.test.",
        "www.tampered.test.",
        "nx.test.",
    ];
    let input = temp_file("schema-scan-input", domains.join("\n").as_bytes());
    let summary =
        std::env::temp_dir().join(format!("dane-schema-summary-{}.json", std::process::id()));
    let summary_path = summary.display().to_string();
    let exclude = temp_file("schema-scan-exclude", b"# opt-outs\nnx.test\n");
    let mut args = vec![
        "scan",
        input.as_str(),
        "--timeout",
        "30",
        "--quiet",
        "--summary-json",
        summary_path.as_str(),
        "--exclude",
        exclude.as_str(),
    ];
    args.extend_from_slice(&flags);
    let out = run(&args);
    let text = std::fs::read_to_string(&summary).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["skipped"]["excluded"], 1, "{text}");
    docs.push(SchemaDoc::new("scan-summary", format!("{args:?}"), text));
    std::fs::remove_file(&summary).unwrap();
    for line in out.stdout.lines() {
        let _: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        docs.push(SchemaDoc::new("scan", line, line));
    }
    assert!(
        out.stdout.lines().count() >= 3,
        "{}{}",
        out.stdout,
        out.stderr
    );
    docs
}

/// `dane zone check --json` on every fixture zone (good, broken one defect at a time, with
/// warnings; with the parent's DS), `dane tlsa generate --json` and `dane tlsa match --json`
/// on the test PKI (authenticated, not, and with an unusable record).
fn offline_documents() -> Vec<SchemaDoc> {
    let mut docs = Vec::new();
    let mut zones: Vec<_> = std::fs::read_dir(root().join("fixtures/zone"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zone") && !p.ends_with("split-part.zone"))
        .collect();
    zones.sort();
    assert!(zones.len() >= 20, "{zones:?}");
    for z in &zones {
        let z = z.display().to_string();
        let at = ["--at", "2026-06-01T00:00:00Z", "--json"];
        docs.push(json_of(
            "zone-check",
            &[&["zone", "check", &z][..], &at].concat(),
        ));
    }
    let (cds, ds) = (fixture("zone/good-cds.zone"), fixture("zone/parent.ds"));
    let at = "2026-06-01T00:00:00Z";
    let args = ["zone", "check", &cds, "--ds", &ds, "--at", at, "--json"];
    docs.push(json_of("zone-check", &args));

    let (rsa, ec) = (fixture("pki/chain-rsa.pem"), fixture("pki/chain-ec.pem"));
    let csr = fixture("pki/next.csr");
    let key = fixture("pki/leaf-ed25519.pub.pem");
    let name = ["--name", "mx1.example.test", "--format", "json"];
    for input in [
        &["--recommended", "--cert", rsa.as_str()][..],
        &[
            "--cert",
            ec.as_str(),
            "--usage",
            "DANE-TA",
            "--mtype",
            "SHA2-512",
        ],
        &["--csr", csr.as_str()],
        &["--pubkey", key.as_str()],
    ] {
        let args = [&["tlsa", "generate"][..], input, &name].concat();
        docs.push(json_of("tlsa-generate", &args));
    }
    let ee = "3 1 1 9280597C8F5CA52E55A9933D0F75A9C6C45F68C7F003D8D39F251943EB8E94CF";
    let ta = "2 1 1 0E8AF62AEB8B48B71D1C81284BC46A5135FD508981A78F39E749A480E490E590";
    for (chain, records) in [(&rsa, &[ee, ta][..]), (&ec, &[ee][..])] {
        let mut args = vec!["tlsa", "match", "--chain", chain, "--json"];
        args.extend(["--name", "mx1.example.test", "--at", at]);
        for r in records {
            args.extend(["--record", r]);
        }
        docs.push(json_of("tlsa-match", &args));
    }
    // Unusable records (a digest of the wrong length, an unassigned usage: no mnemonic).
    let owner = "_25._tcp.mx1.example.test. IN TLSA";
    let file = temp_file(
        "schema-unusable.tlsa",
        format!("{owner} 3 1 1 00\n{owner} 4 0 0 ab\n{owner} {ta}\n").as_bytes(),
    );
    let args = [
        "tlsa",
        "match",
        "--chain",
        &rsa,
        "--records",
        &file,
        "--json",
    ];
    docs.push(json_of("tlsa-match", &[&args[..], &["--at", at]].concat()));
    docs
}

/// Every real document validates against its JSON Schema (draft 2020-12, schemas/) with a
/// real validator (Python's jsonschema, Debian's python3-jsonschema), and the schemas are
/// closed (additionalProperties: false), so a field added to the output but not to the
/// schema fails here: one document of each kind, with a field its schema lacks, is
/// rejected.
#[test]
fn json_output_validates_against_the_schemas() {
    let docs = json_documents();
    if let Some(dir) = std::env::var_os("DANE_DUMP_JSON") {
        for (i, d) in docs.iter().enumerate() {
            let path = std::path::Path::new(&dir).join(format!("{}-{i}.json", d.kind));
            std::fs::write(path, &d.json).unwrap();
        }
    }
    let kinds: std::collections::BTreeSet<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().copied().collect::<Vec<_>>(),
        [
            "dnssec",
            "scan",
            "scan-summary",
            "tlsa-generate",
            "tlsa-match",
            "verify",
            "verify-evidence",
            "zone-check"
        ],
    );
    let Some(python) = dane_testenv::schema::validator() else {
        return;
    };
    let out = dane_testenv::schema::validate(&python, &docs);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.trim(),
        format!("{} documents valid", docs.len()),
        "{}",
        out.stderr
    );
    // A field the schema does not know fails, for every kind.
    for kind in kinds {
        let d = docs.iter().find(|d| d.kind == kind).unwrap();
        let mut extra: serde_json::Value = serde_json::from_str(&d.json).unwrap();
        extra["surprise"] = serde_json::json!(1);
        let bad = SchemaDoc::new(kind, "with a surprise", extra.to_string());
        let out = dane_testenv::schema::validate(&python, &[bad]);
        assert_ne!(
            out.code, 0,
            "{kind}: an unknown field passed: {}",
            out.stdout
        );
        assert!(out.stderr.contains("surprise"), "{}", out.stderr);
    }
}

/// Every schema in schemas/ is closed at every level (an object schema lists its
/// properties with `additionalProperties: false`, or gives a schema for every other
/// property, as the zone check's counts per code do), so a field added to an output but not
/// to its schema fails the suite that made the output; and docs/json.md lists each one.
#[test]
fn every_schema_is_closed_and_documented() {
    fn open_objects(v: &serde_json::Value, at: &str, open: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                let is_object = match m.get("type") {
                    Some(serde_json::Value::String(t)) => t == "object",
                    Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                    _ => m.contains_key("properties"),
                };
                let closed = match m.get("additionalProperties") {
                    Some(serde_json::Value::Bool(b)) => !b,
                    Some(serde_json::Value::Object(_)) => true,
                    _ => false,
                };
                if is_object && !closed {
                    open.push(at.to_owned());
                }
                for (k, v) in m {
                    open_objects(v, &format!("{at}/{k}"), open);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    open_objects(v, &format!("{at}/{i}"), open);
                }
            }
            _ => {}
        }
    }
    let index = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let mut open = Vec::new();
        open_objects(&schema, "", &mut open);
        assert!(open.is_empty(), "{name}: open objects at {open:?}");
        assert!(
            index.contains(&format!("`{name}`")),
            "docs/json.md lacks {name}"
        );
        names.push(name);
    }
    assert!(names.len() >= 12, "{names:?}");
}

/// The Prometheus alert rules load (`promtool check rules`) and their unit tests pass
/// (`promtool test rules`: each alert fires on the series it is for, after its `for`).
#[test]
fn prometheus_alert_rules_check_and_pass_their_unit_tests() {
    let Some(promtool) = dane_testenv::require_tool("promtool", "prometheus") else {
        return;
    };
    let dir = root().join("examples/prometheus");
    for args in [
        ["check", "rules", "dane.rules.yml"],
        ["test", "rules", "dane.rules.test.yml"],
    ] {
        let mut cmd = Command::new(&promtool);
        cmd.current_dir(&dir).args(args);
        let out = run_command(cmd, None);
        assert_eq!(
            out.code, 0,
            "promtool {args:?}: {}{}",
            out.stdout, out.stderr
        );
        assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
    }
}

/// The Icinga 2 CheckCommand and its Service apply rule pass `icinga2 daemon -C` with a
/// host that declares a mail domain, and the rule applies to it.
#[test]
fn icinga2_check_command_validates() {
    let Some(icinga2) = dane_testenv::require_tool("icinga2", "icinga2-bin") else {
        return;
    };
    let conf = temp("icinga2.conf");
    std::fs::write(
        &conf,
        format!(
            "include \"{}\"\n\
             object CheckCommand \"dummy\" {{ command = [ \"/bin/true\" ] }}\n\
             object Host \"mx1\" {{\n  address = \"192.0.2.1\"\n  check_command = \"dummy\"\n  \
             vars.dane_domain = \"example.com\"\n}}\n",
            root().join("examples/icinga2/dane.conf").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(&icinga2);
    cmd.args(["daemon", "-C", "-c"]).arg(&conf);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Instantiated 1 Service."),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Finished validating"), "{}", out.stdout);
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dane-packaging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The serve-metrics unit: `systemd-analyze verify` passes (with ExecStart pointing at the
/// binary under test), `systemd-analyze security` rates it OK or better (recorded: 1.1 OK),
/// and the hardening the unit promises is there; the service stops on SIGTERM.
#[test]
fn serve_metrics_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(root().join("packaging/systemd/dane-serve-metrics.service"))
        .unwrap();
    for want in [
        "DynamicUser=yes",
        "CapabilityBoundingSet=\n",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "ExecStart=/usr/bin/dane serve-metrics ",
    ] {
        assert!(unit.contains(want), "the unit lacks {want:?}");
    }
    // SIGTERM (systemd's stop) ends it at once.
    let mut cmd = crate::common::dane();
    cmd.args([
        "serve-metrics",
        "--listen",
        "127.0.0.1:0",
        "--resolver",
        "127.0.0.1:9",
    ]);
    let server = dane_testenv::Listening::spawn(&mut cmd, "dane serve-metrics: listening on ");
    let t0 = std::time::Instant::now();
    let pid = server.child.id().to_string();
    let mut kill = Command::new("kill");
    kill.args(["-TERM", &pid]);
    assert_eq!(run_command(kill, None).code, 0);
    let mut server = server;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            t0.elapsed().as_secs() < 10,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // Exit 0 or death by SIGTERM: both are a clean stop to systemd.
    use std::os::unix::process::ExitStatusExt as _;
    assert!(
        status.success() || status.signal() == Some(15),
        "{status:?}"
    );

    let Some(analyze) = dane_testenv::require_tool("systemd-analyze", "systemd") else {
        return;
    };
    let local = temp("dane-serve-metrics.service");
    std::fs::write(
        &local,
        unit.replace("/usr/bin/dane", env!("CARGO_BIN_EXE_dane")),
    )
    .unwrap();
    let mut cmd = Command::new(&analyze);
    cmd.args(["verify", "--man=no"]).arg(&local);
    let out = run_command(cmd, None);
    assert_eq!(
        out.code, 0,
        "systemd-analyze verify: {}{}",
        out.stdout, out.stderr
    );
    let mut cmd = Command::new(&analyze);
    cmd.args(["security", "--offline=true", "--no-pager"])
        .arg(&local);
    let out = run_command(cmd, None);
    assert_eq!(
        out.code, 0,
        "systemd-analyze security: {}{}",
        out.stdout, out.stderr
    );
    let level = out
        .stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default()
        .to_owned();
    let score: f64 = level
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {level:?}"));
    // systemd's scale: below 2.0 is OK, 2.0 to 4.9 MEDIUM.
    assert!(score < 2.0 && level.contains(" OK"), "{level}");
}

/// The Debian package, built by `packaging/build-deb dev` (cargo-deb): its contents (the
/// binary, a man page per subcommand, the completions in Debian's directories, the unit,
/// schemas, alert rules, Icinga config, recipes, licences), lintian without errors or
/// warnings, and installed with dpkg into a throwaway root: the installed binary runs, its
/// man page renders, its bash completion completes `dane verify --service <TAB>`, and dpkg
/// removes it again without leftovers.
#[test]
fn debian_package_installs_and_works() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut probe = Command::new(&cargo);
    probe.args(["deb", "--version"]);
    if run_command(probe, None).code != 0 {
        let Some(_) = dane_testenv::require_tool("cargo-deb", "cargo install --locked cargo-deb")
        else {
            return;
        };
    }
    // The binary under test (cargo test built target/debug/dane with the test
    // dependencies' features; a second `cargo build` would relink another one).
    let mut build = Command::new(root().join("packaging/build-deb"));
    build.args(["dev", "--no-build"]).env("CARGO", &cargo);
    let out = run_command(build, None);
    assert_eq!(out.code, 0, "build-deb: {}{}", out.stdout, out.stderr);
    let deb = root().join(out.stdout.lines().last().unwrap().trim());
    assert!(deb.exists(), "{}", deb.display());

    let mut list = Command::new("dpkg-deb");
    list.arg("-c").arg(&deb);
    let listing = run_command(list, None);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    let files: Vec<&str> = listing
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let mut want = vec![
        "./usr/bin/dane".to_owned(),
        "./usr/share/bash-completion/completions/dane".into(),
        "./usr/share/zsh/vendor-completions/_dane".into(),
        "./usr/share/fish/vendor_completions.d/dane.fish".into(),
        "./usr/lib/systemd/system/dane-serve-metrics.service".into(),
        "./usr/share/doc/dane/copyright".into(),
        "./usr/share/doc/dane/THIRD-PARTY-LICENSES".into(),
        "./usr/share/doc/dane/LICENSE-APACHE".into(),
        "./usr/share/doc/dane/LICENSE-MIT".into(),
        "./usr/share/doc/dane/README.md".into(),
        "./usr/share/doc/dane/docs/README.md".into(),
        "./usr/share/doc/dane/docs/verify.md".into(),
        "./usr/share/doc/dane/docs/rollover.md".into(),
        "./usr/share/doc/dane/examples/prometheus/dane.rules.yml".into(),
        "./usr/share/doc/dane/examples/icinga2/dane.conf".into(),
        "./usr/share/doc/dane/examples/rollover/certbot-hook.sh".into(),
        "./usr/share/doc/dane/examples/ci/dane-precheck.sh".into(),
        "./usr/share/doc/dane/examples/slurm/dane-scan.sbatch".into(),
        "./usr/share/doc/dane/examples/slurm/merge.sh".into(),
        "./usr/share/doc/dane/examples/kubernetes/dane-scan-job.yaml".into(),
        "./usr/share/doc/dane/examples/zone-check/nsd/nsd.conf".into(),
        "./usr/share/doc/dane/examples/zone-check/knot/knot.conf".into(),
        "./usr/share/doc/dane/examples/zone-check/bind/sign-and-publish.sh".into(),
    ];
    for kind in [
        "verify",
        "dnssec",
        "scan",
        "verify-evidence",
        "zone-check",
        "tlsa-generate",
        "tlsa-match",
        "probe",
        "rollover-stage",
        "rollover-status",
        "rollover-promote",
        "rollover-rollback",
        "rollover-state",
    ] {
        want.push(format!("./usr/share/dane/schemas/dane-{kind}.schema.json"));
    }
    // A page for every command dane man writes.
    let pages = temp("pages");
    let out = crate::common::run(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in std::fs::read_dir(&pages).unwrap() {
        let name = page.unwrap().file_name().to_string_lossy().into_owned();
        want.push(format!("./usr/share/man/man1/{name}.gz"));
    }
    assert!(want.len() > 25, "{want:?}");
    for w in &want {
        assert!(
            files.contains(&w.as_str()),
            "{w} not in the package: {files:?}"
        );
    }
    let report = dpkg_extract(&deb, "./usr/share/doc/dane/THIRD-PARTY-LICENSES");
    assert!(report.contains("\nhickory-proto v0.26.3\t"), "{report}");

    if let Some(lintian) = dane_testenv::require_tool("lintian", "lintian") {
        let mut cmd = Command::new(lintian);
        cmd.arg(&deb);
        let out = run_command(cmd, None);
        let bad: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
            .collect();
        assert!(bad.is_empty(), "lintian: {bad:?}");
    }

    // dpkg into a throwaway root (its own admin directory; Depends: libc6 is not there).
    let r = temp("root");
    let _ = std::fs::remove_dir_all(&r);
    let admin = r.join("var/lib/dpkg");
    std::fs::create_dir_all(admin.join("info")).unwrap();
    std::fs::create_dir_all(admin.join("updates")).unwrap();
    std::fs::write(admin.join("status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", r.display()))
            .arg(format!("--admindir={}", admin.display()))
            .args(["--log=/dev/null", "--force-not-root"])
            .args(args);
        run_command(cmd, None)
    };
    let out = dpkg(&["--force-depends", "-i", deb.to_str().unwrap()]);
    assert_eq!(out.code, 0, "dpkg -i: {}{}", out.stdout, out.stderr);
    let mut cmd = Command::new(r.join("usr/bin/dane"));
    cmd.arg("--version");
    let out = run_command(cmd, None);
    assert_eq!(
        out.stdout.trim(),
        format!("dane {}", env!("CARGO_PKG_VERSION"))
    );
    if let Some(man) = dane_testenv::require_tool("man", "man-db") {
        let mut cmd = Command::new(man);
        cmd.args(["-l", "-P", "cat"])
            .arg(r.join("usr/share/man/man1/dane-verify.1.gz"))
            .env("MANWIDTH", "80");
        let out = run_command(cmd, None);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("NAGIOS MAPPING"), "{}", out.stdout);
    }
    let completion = r.join("usr/share/bash-completion/completions/dane");
    let program = format!(
        "source {}; COMP_WORDS=(dane verify --service ''); COMP_CWORD=3; \
         COMP_LINE='dane verify --service '; COMP_POINT=${{#COMP_LINE}}; \
         _dane dane '' --service; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        completion.display()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &program]);
    let out = run_command(cmd, None);
    assert!(out.stdout.lines().any(|l| l == "smtp"), "{out:?}");
    let out = dpkg(&["-r", "dane"]);
    assert_eq!(out.code, 0, "dpkg -r: {}{}", out.stdout, out.stderr);
    assert!(!r.join("usr/bin/dane").exists());
    std::fs::remove_dir_all(&r).unwrap();
}

/// One file's text from the package.
fn dpkg_extract(deb: &std::path::Path, path: &str) -> String {
    let dir = temp("extract");
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new("dpkg-deb");
    cmd.arg("-x").arg(deb).arg(&dir);
    let out = run_command(cmd, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::read_to_string(dir.join(path)).unwrap()
}
