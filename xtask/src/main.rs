//! `cargo xtask`: Clusterscope's automation, written in Rust so that a fresh
//! clone needs nothing but a Rust toolchain (rustup), Node.js and `cargo`.
//!
//! One module per subcommand, in the style of rust-analyzer's xtask: `main.rs`
//! parses the arguments by hand and dispatches; each module owns one command.
//! The helpers every command shares (where the repository is, how a command is
//! echoed and run) live here.
//!
//! To add a subcommand: write `foo.rs` with `pub fn run(args: &[String]) ->
//! Result<()>`, add it to `dispatch` and to `HELP`.

mod bench;
mod dist;
mod install;
mod mutants;
mod serve;
mod sweep;
mod test;

use std::{
    env,
    path::PathBuf,
    process::{Command, ExitCode},
    time::Duration,
};

/// Every command reports failure as a sentence for the person at the terminal.
type Result<T, E = String> = std::result::Result<T, E>;

const HELP: &str = "\
cargo xtask: install, serve, test and package Clusterscope

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    install                 Install the tools the build needs: the wasm32 target, Trunk,
                            wasm-bindgen-cli (matching Cargo.lock), wasm-opt and Playwright
                            (npm, into .tools/), Chromium and chromedriver (apt-get).
                            Only what is missing or has the wrong version is installed.
    serve [--port N] [--open]
                            Install what is missing, then serve the app with live reload
                            on http://127.0.0.1:8080 (or port N); --open opens a browser.
    test                    Install what is missing, then run cargo fmt --check, clippy,
                            the native tests, a release build and the browser tests.
                            Ends with one line `N passed, N failed`.
    dist                    Release build into dist/, printing the sizes of the wasm,
                            JS and CSS, raw and gzipped.
    sweep --protocol P --seeds N [--start-seed S] [--nodes K] [--toggle NAME]
                            Seed sweeps under generated faults; each failure prints its
                            SEED, fault parameters and reproducing command.
    bench [--json] [--engine-only | --browser-only]
                            Engine benchmarks (native and wasm in Node), then the release
                            build in headless Chromium (frame times, main-thread busy,
                            paused cost, seeking, memory, download size), against targets.
    mutants [--file PATH]... [--jobs N] [-- ARGS...]
                            Mutation testing of the checkers with cargo-mutants (installed
                            if missing): lists every small change to a checker that no test
                            of its package notices. Slow; not part of `test`.

OPTIONS:
    -h, --help              Print this help.
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    // `mutants` prints its own help, and passes what follows `--` on.
    let own_help = args.first().is_some_and(|command| command == "mutants");
    if args.is_empty()
        || (!own_help
            && args
                .iter()
                .any(|a| a == "-h" || a == "--help" || a == "help"))
    {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    match dispatch(&args[0], &args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: &str, args: &[String]) -> Result<()> {
    match command {
        "install" => {
            no_arguments(command, args)?;
            install::ensure(install::Browser::Needed).map(drop)
        }
        "serve" => serve::run(args),
        "test" => {
            no_arguments(command, args)?;
            test::run()
        }
        "dist" => {
            no_arguments(command, args)?;
            dist::run()
        }
        "sweep" => sweep::run(args),
        "bench" => bench::run(args),
        "mutants" => mutants::run(args),
        other => Err(format!(
            "unknown command `{other}`; `cargo xtask --help` lists the commands"
        )),
    }
}

fn no_arguments(command: &str, args: &[String]) -> Result<()> {
    match args.first() {
        None => Ok(()),
        Some(arg) => Err(format!(
            "`cargo xtask {command}` takes no arguments, got `{arg}`; see `cargo xtask --help`"
        )),
    }
}

/// The repository root: the parent of this crate's directory.
fn project_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask/ lives inside the repository")
        .to_path_buf()
}

/// Prints a step heading, so the output says what is happening and why.
fn announce(what: &str) {
    println!("\n==> {what}");
}

/// Prints a command the way a person would type it, then runs it with the
/// terminal attached, so its own progress output streams through.
fn run_cmd(command: &mut Command) -> Result<()> {
    let status = spawn_status(command)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(command)))
    }
}

/// Like [`run_cmd`], but hands back the exit status instead of judging it.
fn spawn_status(command: &mut Command) -> Result<std::process::ExitStatus> {
    println!("$ {}", display(command));
    command
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", display(command)))
}

/// Runs a command quietly and returns its standard output, or `None` if it
/// could not start or failed. Used for probes such as `trunk --version`.
fn probe(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn display(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

fn cargo() -> Command {
    // The rustup proxy on PATH, not $CARGO: the proxy finds clippy and rustfmt
    // for the active toolchain. From the root, wherever `cargo xtask` ran.
    let mut cargo = Command::new("cargo");
    cargo.current_dir(project_root());
    cargo
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
