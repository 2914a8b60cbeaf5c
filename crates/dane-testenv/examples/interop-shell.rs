//! Brings the interop environment up and runs a command inside its network namespace
//! (default: an interactive shell), then tears everything down:
//! `cargo run -p dane-testenv --example interop-shell -- posttls-finger ...` (as root).
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

fn main() {
    let started = std::time::Instant::now();
    let env = match dane_testenv::Interop::start() {
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (program, rest) = match args.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => ("bash".to_string(), Vec::new()),
    };
    let status = env.command(&program).args(&rest).status();
    drop(env);
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("interop-shell: running {program}: {e}");
            std::process::exit(1);
        }
    }
}
