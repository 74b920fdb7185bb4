//! `cargo xtask mutants [--file PATH]... [--jobs N] [-- ARGS...]`: mutation
//! testing of the checkers, with cargo-mutants.
//!
//! A checker that silently stopped checking a rule would still pass every
//! test that only runs clean histories. cargo-mutants finds such blind
//! spots: it makes one small change at a time to a source file (a `<`
//! becomes `<=`, a function returns its default, a `!` disappears), runs the
//! tests of the file's package against each, and lists every change
//! ("mutant") that no test noticed. The files mutated by default are the
//! safety checkers, the linearizability checker and the liveness monitor
//! ([`CHECKER_FILES`]); each mutant runs only its own package's tests
//! (`protocols` or `sim`), never the app's or the browser's.
//!
//! cargo-mutants is installed at [`VERSION`] when it is missing or has
//! another version, as `cargo xtask install` installs Trunk. It is slow (a
//! build and a test run per mutant), so it is not part of `cargo xtask
//! test`, and it runs one mutant at a time unless `--jobs` says otherwise:
//! each job is a full build, and this project is built on two cores.
//! The outcomes land in `target/mutants.out/` (`missed.txt`, `caught.txt`,
//! `unviable.txt`, `timeout.txt`, and a log per mutant).

use std::process::Command;

use crate::{announce, install, project_root, spawn_status, Result};

/// The cargo-mutants release this project's figures were measured with.
const VERSION: &str = "27.1.0";

/// The files mutated when no `--file` is given, with their package.
const CHECKER_FILES: &[(&str, &str)] = &[
    ("crates/protocols/src/raft/checker.rs", "protocols"),
    ("crates/protocols/src/paxos/checker.rs", "protocols"),
    ("crates/protocols/src/pubsub/checker.rs", "protocols"),
    (
        "crates/protocols/src/linearizability/search.rs",
        "protocols",
    ),
    ("crates/protocols/src/linearizability/model.rs", "protocols"),
    ("crates/protocols/src/linearizability/mod.rs", "protocols"),
    ("crates/sim/src/liveness.rs", "sim"),
];

const HELP: &str = "\
cargo xtask mutants: mutation testing of the checkers (cargo-mutants)

USAGE:
    cargo xtask mutants [--file PATH]... [--jobs N] [-- ARGS...]

Installs cargo-mutants 27.1.0 if it is missing or another version, then
mutates the checker files one change at a time and runs their package's
tests (protocols or sim) against each change. Results are in
target/mutants.out/ (missed.txt lists the changes no test noticed).

OPTIONS:
    --file PATH     Mutate only this file (repeatable). The default is every
                    checker file:
                        crates/protocols/src/raft/checker.rs
                        crates/protocols/src/paxos/checker.rs
                        crates/protocols/src/pubsub/checker.rs
                        crates/protocols/src/linearizability/search.rs
                        crates/protocols/src/linearizability/model.rs
                        crates/protocols/src/linearizability/mod.rs
                        crates/sim/src/liveness.rs
    -j, --jobs N    Mutants built and tested at once (default 1: each is a
                    full build).
    -- ARGS...      Passed to cargo-mutants unchanged, such as `-- --list`
                    (list the mutants, run nothing) or `-- --shard 1/4`.
    -h, --help      Print this help.
";

pub fn run(args: &[String]) -> Result<()> {
    let Some(options) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let tool = install::ensure_cargo_mutants(VERSION)?;
    announce(&format!(
        "Mutating {} file(s) with cargo-mutants {VERSION}, {} job(s) at a time",
        options.files.len(),
        options.jobs
    ));
    let mut command = Command::new(&tool);
    command
        .current_dir(project_root())
        .args(mutants_args(&options));
    let status = spawn_status(&mut command)?;
    // cargo-mutants' documented exit codes.
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(
            "some mutants survived: target/mutants.out/missed.txt lists them, with a diff each"
                .into(),
        ),
        Some(3) => Err("some mutants timed out: see target/mutants.out/timeout.txt".into()),
        Some(4) => Err("the tests fail without any mutation: fix them first".into()),
        _ => Err(format!("cargo-mutants failed ({status})")),
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    /// (file, package), in the order given.
    files: Vec<(String, String)>,
    jobs: u32,
    /// Everything after `--`.
    extra: Vec<String>,
}

/// The options, or `None` for `--help`.
fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut files = Vec::new();
    let mut jobs = 1;
    let mut rest = args.iter();
    let mut extra = Vec::new();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--file" => {
                let path = rest.next().ok_or("`--file` needs a path")?;
                files.push((path.clone(), package_of(path)?.to_owned()));
            }
            "-j" | "--jobs" => {
                let n = rest.next().ok_or("`--jobs` needs a number")?;
                jobs =
                    n.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
                        format!("`--jobs` takes a whole number from 1, got `{n}`")
                    })?;
            }
            "--" => {
                extra = rest.by_ref().cloned().collect();
            }
            other => {
                return Err(format!(
                    "`cargo xtask mutants` takes --file, --jobs and `-- ARGS`, got `{other}`; \
                     see `cargo xtask mutants --help`"
                ))
            }
        }
    }
    if files.is_empty() {
        files = CHECKER_FILES
            .iter()
            .map(|&(f, p)| (f.to_owned(), p.to_owned()))
            .collect();
    }
    Ok(Some(Options { files, jobs, extra }))
}

/// The package whose tests judge a mutant of `path`: only the two crates
/// the checkers live in.
fn package_of(path: &str) -> Result<&'static str> {
    let path = path.trim_start_matches("./");
    if path.starts_with("crates/protocols/src/") {
        Ok("protocols")
    } else if path.starts_with("crates/sim/src/") {
        Ok("sim")
    } else {
        Err(format!(
            "`--file {path}`: only files under crates/protocols/src/ or crates/sim/src/ are mutated"
        ))
    }
}

/// The arguments after `cargo-mutants`: `mutants` (it runs as a cargo
/// subcommand), one `--package` per package involved (which also keeps the
/// tests to those packages), the files, the jobs, the output directory and
/// whatever came after `--`.
fn mutants_args(options: &Options) -> Vec<String> {
    let mut args = vec!["mutants".to_owned()];
    let mut packages: Vec<&str> = options.files.iter().map(|(_, p)| p.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    for p in packages {
        args.extend(["--package".to_owned(), p.to_owned()]);
    }
    for (f, _) in &options.files {
        args.extend(["--file".to_owned(), f.trim_start_matches("./").to_owned()]);
    }
    args.extend([
        "--jobs".to_owned(),
        options.jobs.to_string(),
        "--output".to_owned(),
        "target".to_owned(),
    ]);
    args.extend(options.extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn by_default_every_checker_file_is_mutated_one_job_at_a_time() {
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.files.len(), CHECKER_FILES.len());
        assert_eq!(options.jobs, 1);
        let args = mutants_args(&options);
        let joined = args.join(" ");
        assert!(joined.starts_with(
            "mutants --package protocols --package sim --file crates/protocols/src/raft/checker.rs"
        ));
        assert!(joined.ends_with("--jobs 1 --output target"), "{joined}");
    }

    #[test]
    fn files_jobs_and_extra_arguments_are_passed_on() {
        let args = strings(&[
            "--file",
            "./crates/sim/src/liveness.rs",
            "-j",
            "2",
            "--",
            "--list",
            "--shard",
            "1/4",
        ]);
        let options = parse(&args).unwrap().unwrap();
        assert_eq!(
            mutants_args(&options),
            strings(&[
                "mutants",
                "--package",
                "sim",
                "--file",
                "crates/sim/src/liveness.rs",
                "--jobs",
                "2",
                "--output",
                "target",
                "--list",
                "--shard",
                "1/4",
            ])
        );
    }

    #[test]
    fn bad_arguments_are_refused_and_help_is_help() {
        assert_eq!(parse(&strings(&["--help"])), Ok(None));
        assert!(parse(&strings(&["--file", "src/app.rs"])).is_err());
        assert!(parse(&strings(&["--jobs", "0"])).is_err());
        assert!(parse(&strings(&["--file"])).is_err());
        assert!(parse(&strings(&["--seeds", "3"])).is_err());
    }

    #[test]
    fn every_default_file_exists_in_its_package() {
        for &(file, package) in CHECKER_FILES {
            assert!(project_root().join(file).is_file(), "{file} is missing");
            assert_eq!(package_of(file), Ok(package));
        }
    }
}
