//! Brings the interop environment up, runs one command inside its network namespace
//! (default: an interactive shell), then tears everything down. As root:
//!
//! ```text
//! cargo run -p dane-testenv --example interop-shell -- [--bulk N] [--shared N] [COMMAND ARGS...]
//! ```
//!
//! The command's environment has `DANE_INTEROP_ANCHOR` (the root DS file),
//! `DANE_INTEROP_BIND_ANCHOR` (delv's), `DANE_INTEROP_DNSKEY_ANCHOR` (ldns-dane's),
//! `DANE_INTEROP_BULK` (the bulk domains, one a line), `DANE_INTEROP_SHARED` (the domains
//! of `--shared N`, all behind the four MX hosts of `provider.test`, one a line),
//! `DANE_INTEROP_MAILLOG_RSA` and `DANE_INTEROP_MAILLOG_EC` (the mail logs of the Postfix
//! instances those hosts are on), `DANE_INTEROP_ROOT_HINTS` (the
//! private root's hints, for `dane --iterate --root-hints`) and `MAIL_CONFIG` (so
//! `posttls-finger` finds a configuration).
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let (mut bulk, mut shared) = (0, 0);
    while let Some(flag) = args
        .first()
        .filter(|f| *f == "--bulk" || *f == "--shared")
        .cloned()
    {
        let Some(n) = args.get(1).and_then(|n| n.parse().ok()) else {
            eprintln!("interop-shell: {flag} needs a number");
            std::process::exit(2);
        };
        if flag == "--bulk" {
            bulk = n;
        } else {
            shared = n;
        }
        args.drain(..2);
    }
    let started = std::time::Instant::now();
    let env = match dane_testenv::Interop::start_survey(bulk, shared) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("interop-shell: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "interop-shell: namespace {} up in {:.1} s; resolver {} (port 53); anchors {}",
        env.netns(),
        started.elapsed().as_secs_f64(),
        env.resolver(),
        env.anchor_ds().display()
    );
    let bulk_file = std::env::temp_dir().join(format!("{}.bulk", env.netns()));
    let mut list = env.bulk_domains().join("\n");
    list.push('\n');
    if let Err(e) = std::fs::write(&bulk_file, list) {
        eprintln!("interop-shell: writing {}: {e}", bulk_file.display());
    }
    let shared_file = std::env::temp_dir().join(format!("{}.shared", env.netns()));
    let mut list = env.shared_domains().join("\n");
    list.push('\n');
    if let Err(e) = std::fs::write(&shared_file, list) {
        eprintln!("interop-shell: writing {}: {e}", shared_file.display());
    }
    let (program, rest) = match args.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => ("bash".to_string(), Vec::new()),
    };
    let status = env
        .command(&program)
        .args(&rest)
        .env("DANE_INTEROP_ANCHOR", env.anchor_ds())
        .env("DANE_INTEROP_BIND_ANCHOR", env.anchor_bind())
        .env("DANE_INTEROP_DNSKEY_ANCHOR", env.anchor_dnskey())
        .env("DANE_INTEROP_BULK", &bulk_file)
        .env("DANE_INTEROP_SHARED", &shared_file)
        .env("DANE_INTEROP_MAILLOG_RSA", env.postfix_maillog("rsa"))
        .env("DANE_INTEROP_MAILLOG_EC", env.postfix_maillog("ec"))
        .env("DANE_INTEROP_ROOT_HINTS", env.root_hints())
        .env("MAIL_CONFIG", env.posttls_finger_config())
        .status();
    drop(env);
    let _ = std::fs::remove_file(&bulk_file);
    let _ = std::fs::remove_file(&shared_file);
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("interop-shell: running {program}: {e}");
            std::process::exit(1);
        }
    }
}
