//! `cargo xtask dist`: the release build into `dist/`, and what it weighs.
//!
//! `dist/` is plain static files with relative URLs (`public_url = "./"` in
//! Trunk.toml), so it can be copied under any path of any static web server.
//! The server must send `.wasm` as `application/wasm`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::{announce, install, project_root, run_cmd, Result};

pub fn run() -> Result<()> {
    let tools = install::ensure(install::Browser::NotNeeded)?;
    build_release(&tools)?;
    print_sizes(&project_root().join("dist"))
}

/// `trunk build --release`: cargo's size-tuned release profile, then wasm-opt
/// -Oz (index.html asks for it), hashed file names, into `dist/`.
pub fn build_release(tools: &install::Toolchain) -> Result<()> {
    announce("Building the app for release into dist/ (trunk build --release)");
    run_cmd(tools.trunk().args(["build", "--release"]))
}

fn print_sizes(dist: &Path) -> Result<()> {
    announce("Sizes of dist/ (gzip -9, as a static server would send them)");
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("wasm" | "js" | "css")
            )
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{} has no .wasm, .js or .css", dist.display()));
    }
    let width = files.iter().map(|f| file_name(f).len()).max().unwrap_or(0);
    println!("{:width$}  {:>10}  {:>10}", "file", "raw", "gzipped");
    let (mut raw_total, mut gzip_total) = (0, 0);
    for file in &files {
        let raw = fs::metadata(file)
            .map_err(|e| format!("cannot stat {}: {e}", file.display()))?
            .len();
        let gzipped = gzip_size(file)?;
        raw_total += raw;
        gzip_total += gzipped;
        println!(
            "{:width$}  {:>10}  {:>10}",
            file_name(file),
            kib(raw),
            kib(gzipped)
        );
    }
    println!(
        "{:width$}  {:>10}  {:>10}",
        "total",
        kib(raw_total),
        kib(gzip_total)
    );
    Ok(())
}

/// The size of `gzip -9 -n` output. Shelling out to gzip, which every Unix
/// has, keeps the xtask free of dependencies (and quick to build on a fresh
/// clone) for a number that is only ever printed.
fn gzip_size(file: &Path) -> Result<u64> {
    let output = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(file)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !output.status.success() {
        return Err(format!("gzip failed on {}", file.display()));
    }
    Ok(output.stdout.len() as u64)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_kibibytes() {
        assert_eq!(kib(0), "0.0 KiB");
        assert_eq!(kib(1536), "1.5 KiB");
    }

    #[test]
    fn gzip_shrinks_repetitive_text() {
        let path = std::env::temp_dir().join(format!("xtask-gzip-{}.txt", std::process::id()));
        fs::write(&path, "clusterscope ".repeat(1000)).unwrap();
        let size = gzip_size(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert!(size > 0 && size < 200, "gzip -9 gave {size} bytes");
    }
}
