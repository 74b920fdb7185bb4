//! `cargo xtask install`: puts every tool the build needs in place, checking
//! versions, not only presence, and doing nothing when all is already right.
//!
//! | tool | where it comes from | where it lands |
//! |---|---|---|
//! | wasm32-unknown-unknown | `rustup target add` | the active toolchain |
//! | Trunk | `cargo install --locked trunk` | `$CARGO_HOME/bin` |
//! | wasm-bindgen-cli, = Cargo.lock | `cargo install` (not `--locked`) | `$CARGO_HOME/bin` |
//! | wasm-opt, Playwright | `npm ci` from `xtask/tools/` | `.tools/node_modules` |
//! | Chromium, chromedriver | `apt-get install` (as root) | `/usr/bin` |
//!
//! Only crates.io, npm and Debian's apt are reachable on the machines this
//! project is built on, so nothing here lets a tool download its own binaries
//! (`docs/toolchain.md` explains the traps: Trunk runs with `offline = true`, and
//! Debian's binaryen is too old for Rust 1.95 output).

use std::{
    env,
    ffi::OsString,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use crate::{announce, cargo, format_duration, probe, project_root, run_cmd, Result};

/// Trunk 0.22 needs a newer rustc than this project's 1.95.
const TRUNK_VERSION: &str = "0.21.14";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const APT_COMMAND: &str = "apt-get update && apt-get install -y chromium chromium-driver";
/// The npm packages `xtask/tools/package.json` must pin, with exact versions.
const NPM_TOOLS: &[&str] = &["binaryen", "playwright-core"];

/// Whether the caller drives a browser (the tests do, `serve` does not).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Needed,
    NotNeeded,
}

/// Where the installed tools are, and the `PATH` that finds them first.
pub struct Toolchain {
    pub trunk: PathBuf,
    /// `.tools/node_modules/.bin` (wasm-opt 132), then `$CARGO_HOME/bin`
    /// (wasm-bindgen), then the inherited `PATH`.
    path: OsString,
}

impl Toolchain {
    /// A command for a tool or script that must see the installed tools.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path).current_dir(project_root());
        command
    }

    pub fn trunk(&self) -> Command {
        self.command(&self.trunk)
    }
}

/// Installs whatever is missing or has the wrong version, and says so.
pub fn ensure(browser: Browser) -> Result<Toolchain> {
    let root = project_root();
    let cargo_bin = cargo_home()?.join("bin");
    let tools_dir = root.join(".tools");

    announce("Checking the tools (installing only what is missing or outdated)");
    ensure_wasm_target()?;
    let trunk = ensure_cargo_tool(
        &cargo_bin,
        "trunk",
        "trunk",
        TRUNK_VERSION,
        CargoLock::Locked,
        &["--version"],
    )?;
    let bindgen_version = wasm_bindgen_version(&root)?;
    ensure_cargo_tool(
        &cargo_bin,
        "wasm-bindgen-cli",
        "wasm-bindgen",
        &bindgen_version,
        // Its own lockfile names a webpki-roots release the registry lacks.
        CargoLock::Unlocked,
        &["--version"],
    )?;
    ensure_npm_tools(&root.join("xtask").join("tools"), &tools_dir)?;
    if browser == Browser::Needed {
        ensure_chromium()?;
    }

    let mut dirs = vec![tools_dir.join("node_modules").join(".bin"), cargo_bin];
    dirs.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    let path = env::join_paths(dirs).map_err(|e| format!("cannot build PATH: {e}"))?;
    Ok(Toolchain { trunk, path })
}

/// Makes sure cargo-mutants is at `version`, for `cargo xtask mutants`
/// (the only command that needs it, so [`ensure`] leaves it out).
pub fn ensure_cargo_mutants(version: &str) -> Result<PathBuf> {
    let cargo_bin = cargo_home()?.join("bin");
    ensure_cargo_tool(
        &cargo_bin,
        "cargo-mutants",
        "cargo-mutants",
        version,
        CargoLock::Locked,
        // A cargo subcommand's binary expects its name first.
        &["mutants", "--version"],
    )
}

/// `$CARGO_HOME`, defaulting to `~/.cargo` as cargo itself does.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo"))
        .ok_or_else(|| "neither CARGO_HOME nor HOME is set".to_owned())
}

fn ensure_wasm_target() -> Result<()> {
    let installed = probe(Command::new("rustup").args(["target", "list", "--installed"]))
        .ok_or("`rustup` is needed to add the wasm32 target; install Rust with rustup")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("ok  rust target {WASM_TARGET}");
        return Ok(());
    }
    println!("installing rust target {WASM_TARGET}");
    run_cmd(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

#[derive(Clone, Copy)]
enum CargoLock {
    Locked,
    Unlocked,
}

/// Makes sure `$CARGO_HOME/bin/<binary> <version_args>` (`--version`)
/// reports `version`, and installs `krate` at exactly that version when it
/// does not.
fn ensure_cargo_tool(
    cargo_bin: &Path,
    krate: &str,
    binary: &str,
    version: &str,
    lock: CargoLock,
    version_args: &[&str],
) -> Result<PathBuf> {
    let path = cargo_bin.join(binary);
    let want = format!("{binary} {version}");
    match probe(Command::new(&path).args(version_args)) {
        Some(text) if text.split_whitespace().take(2).eq(want.split_whitespace()) => {
            println!("ok  {want}");
            return Ok(path);
        }
        Some(text) => println!(
            "{} reports `{}`, need `{want}`: reinstalling",
            path.display(),
            text.trim()
        ),
        None => println!("{} not found: installing {krate} {version}", path.display()),
    }
    let started = Instant::now();
    let mut install = cargo();
    install.args(["install", krate, "--version", version, "--force"]);
    if let CargoLock::Locked = lock {
        install.arg("--locked");
    }
    run_cmd(&mut install)?;
    let after = probe(Command::new(&path).args(version_args)).unwrap_or_default();
    if !after.split_whitespace().take(2).eq(want.split_whitespace()) {
        return Err(format!(
            "installed {krate} but {} reports `{}`, not `{want}`",
            path.display(),
            after.trim()
        ));
    }
    println!("installed {want} in {}", format_duration(started.elapsed()));
    Ok(path)
}

/// The wasm-bindgen version in Cargo.lock: the CLI must equal it exactly, or
/// the generated JS and the wasm disagree. Trunk.toml pins it too, so that an
/// offline Trunk fails clearly instead of downloading; the two must agree.
fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let version = locked_version(&lock, "wasm-bindgen")
        .ok_or("Cargo.lock has no `wasm-bindgen` package; is the app still a wasm-bindgen app?")?;
    let trunk_toml = fs::read_to_string(root.join("Trunk.toml"))
        .map_err(|e| format!("cannot read Trunk.toml: {e}"))?;
    if let Some(pinned) = toml_string_value(&trunk_toml, "wasm_bindgen") {
        if pinned != version {
            return Err(format!(
                "Trunk.toml pins wasm_bindgen = \"{pinned}\" but Cargo.lock has wasm-bindgen {version}; \
                 make them equal"
            ));
        }
    }
    Ok(version)
}

/// The `version` of package `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim().strip_prefix("version = ")?;
            return Some(version.trim_matches('"').to_owned());
        }
    }
    None
}

/// The value of a `key = "value"` line in a small TOML file.
fn toml_string_value(toml: &str, key: &str) -> Option<String> {
    toml.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The npm tools live in `.tools/` (git-ignored), installed with `npm ci` from
/// the committed `xtask/tools/package.json` and `package-lock.json`, so every
/// machine gets the same bytes.
fn ensure_npm_tools(source: &Path, tools_dir: &Path) -> Result<()> {
    let manifest = fs::read_to_string(source.join("package.json"))
        .map_err(|e| format!("cannot read xtask/tools/package.json: {e}"))?;
    let mut stale = Vec::new();
    for package in NPM_TOOLS {
        let want = json_string_value(&manifest, package)
            .ok_or_else(|| format!("xtask/tools/package.json does not pin `{package}`"))?;
        let installed_manifest = tools_dir
            .join("node_modules")
            .join(package)
            .join("package.json");
        let have = fs::read_to_string(&installed_manifest)
            .ok()
            .and_then(|text| json_string_value(&text, "version"));
        match have {
            Some(have) if have == want => println!("ok  {package}@{want} (npm, .tools/)"),
            Some(have) => stale.push(format!("{package}@{want} (have {have})")),
            None => stale.push(format!("{package}@{want} (missing)")),
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    println!("installing into .tools/: {}", stale.join(", "));
    let started = Instant::now();
    fs::create_dir_all(tools_dir).map_err(|e| format!("cannot create .tools/: {e}"))?;
    for file in ["package.json", "package-lock.json"] {
        fs::copy(source.join(file), tools_dir.join(file))
            .map_err(|e| format!("cannot copy xtask/tools/{file} to .tools/: {e}"))?;
    }
    run_cmd(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(tools_dir),
    )
    .map_err(|e| format!("{e}\n(Node.js 20 and npm are needed: apt-get install -y nodejs npm)"))?;
    println!(
        "installed the npm tools in {}",
        format_duration(started.elapsed())
    );
    Ok(())
}

/// The string value of the first `"key": "value"` pair in a JSON text. Enough
/// for the flat, well-known package.json files read here.
fn json_string_value(json: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let after_key = &json[json.find(&quoted)? + quoted.len()..];
    let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    Some(value[..value.find('"')?].to_owned())
}

/// Debian's Chromium and a chromedriver of the same major version (the
/// wasm-bindgen browser tests drive it). Installed with apt when running as
/// root; otherwise the exact command is printed.
fn ensure_chromium() -> Result<()> {
    let (browser, driver) = (chromium_major(), chromedriver_major());
    match (browser, driver) {
        (Some(b), Some(d)) if b == d => {
            println!("ok  chromium {b} and chromedriver {d} (/usr/bin)");
            return Ok(());
        }
        (Some(b), Some(d)) => println!("chromium {b} and chromedriver {d} differ: reinstalling"),
        _ => println!("chromium or chromedriver is missing in /usr/bin: installing"),
    }
    if !running_as_root() {
        return Err(format!(
            "Chromium and chromedriver are needed for the browser tests. Run:\n\n    sudo sh -c '{APT_COMMAND}'\n"
        ));
    }
    let started = Instant::now();
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    match (chromium_major(), chromedriver_major()) {
        (Some(b), Some(d)) if b == d => {
            println!(
                "installed chromium {b} and chromedriver {d} in {}",
                format_duration(started.elapsed())
            );
            Ok(())
        }
        _ => Err("apt-get finished but chromium and chromedriver are still not usable".into()),
    }
}

/// `Chromium 142.0.7444.175 built on Debian ...` gives 142.
fn chromium_major() -> Option<u32> {
    major_after(&probe(Command::new(CHROMIUM).arg("--version"))?, "Chromium")
}

/// `ChromeDriver 142.0.7444.175 (...)` gives 142.
fn chromedriver_major() -> Option<u32> {
    major_after(
        &probe(Command::new(CHROMEDRIVER).arg("--version"))?,
        "ChromeDriver",
    )
}

fn major_after(text: &str, name: &str) -> Option<u32> {
    let mut words = text.split_whitespace().skip_while(|w| *w != name);
    words.next()?;
    words.next()?.split('.').next()?.parse().ok()
}

fn running_as_root() -> bool {
    probe(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.1\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "trunk"), None);
    }

    #[test]
    fn reads_package_json_values() {
        let json = "{\n  \"name\": \"x\",\n  \"version\": \"1.65.1\",\n  \"dependencies\": { \"binaryen\" : \"132.0.0\" }\n}";
        assert_eq!(
            json_string_value(json, "version").as_deref(),
            Some("1.65.1")
        );
        assert_eq!(
            json_string_value(json, "binaryen").as_deref(),
            Some("132.0.0")
        );
        assert_eq!(json_string_value(json, "playwright-core"), None);
    }

    #[test]
    fn reads_browser_majors() {
        let chromium = "[: 1: unexpected operator\nChromium 142.0.7444.175 built on Debian GNU/Linux 12 (bookworm)\n";
        assert_eq!(major_after(chromium, "Chromium"), Some(142));
        assert_eq!(
            major_after("ChromeDriver 141.0.1.2 (abc)", "ChromeDriver"),
            Some(141)
        );
        assert_eq!(major_after("something else", "Chromium"), None);
    }

    #[test]
    fn the_committed_tools_manifest_pins_exact_versions() {
        let manifest = fs::read_to_string(project_root().join("xtask/tools/package.json")).unwrap();
        for package in NPM_TOOLS {
            let version = json_string_value(&manifest, package).unwrap();
            assert!(
                version.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{package} must be pinned exactly, found `{version}`"
            );
        }
    }
}
