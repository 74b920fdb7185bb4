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
    let downloads = build_release(&tools)?;
    print_sizes(&project_root().join("dist"), &downloads)
}

/// The downloads of the release build: the app's cargo feature that each
/// is built with, and the protocols (the links' `p=`) it runs. A page
/// fetches only the download its link names, so that no page loads the
/// code of protocols it does not show (the target: at most 350 KB gzipped).
/// The first is the default, for links without `p=` (and for a `p=` no
/// download has: that page then shows the app's error for it). The app's
/// `catalog::bundle_of` says the same; choosing a protocol the running
/// download lacks reloads the page into the right one.
pub const DOWNLOADS: [(&str, &[&str]); 3] = [
    ("raft", &["raft"]),
    ("paxos", &["paxos", "multipaxos"]),
    ("pubsub", &["pubsub"]),
];

/// Builds each download with `trunk build --release` (cargo's size-tuned
/// release profile, then wasm-opt as index.html asks, hashed file names)
/// from a copy of index.html that names its cargo feature, then puts them
/// side by side in `dist/` under an index.html whose loader picks one.
/// Returns each download's feature and module file stem.
pub fn build_release(tools: &install::Toolchain) -> Result<Vec<(&'static str, String)>> {
    let root = project_root();
    let template = read(&root.join("index.html"))?;
    let work = root.join("target").join("downloads");
    let mut stems = Vec::new();
    let mut first_html = None;
    for (feature, protocols) in DOWNLOADS {
        announce(&format!(
            "Building the {} download for release (trunk build --release, feature {feature})",
            protocols.join(" and ")
        ));
        let dir = work.join(feature);
        let dist = dir.join("dist");
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let html = dir.join("index.html");
        write(&html, &download_html(&template, feature)?)?;
        run_cmd(
            tools
                .trunk()
                .current_dir(&root)
                .args(["build", "--release", "--dist"])
                .arg(&dist)
                .arg(&html),
        )?;
        let built = read(&dist.join("index.html"))?;
        stems.push((feature, protocols, module_stem(&built)?));
        first_html.get_or_insert(built);
    }
    let dist = root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cannot clear {}: {e}", dist.display()))?;
    }
    fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    for (feature, _) in DOWNLOADS {
        let from = work.join(feature).join("dist");
        for entry in
            fs::read_dir(&from).map_err(|e| format!("cannot read {}: {e}", from.display()))?
        {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_file() && path.file_name().is_some_and(|n| n != "index.html") {
                let to = dist.join(path.file_name().expect("a file"));
                fs::copy(&path, &to).map_err(|e| {
                    format!("cannot copy {} to {}: {e}", path.display(), to.display())
                })?;
            }
        }
    }
    let html = first_html.expect("at least one download");
    write(&dist.join("index.html"), &with_loader(&html, &stems)?)?;
    Ok(stems.into_iter().map(|(f, _, stem)| (f, stem)).collect())
}

/// index.html for one download: its assets found from `target/downloads/NAME/`,
/// and the app built with only that feature.
fn download_html(template: &str, feature: &str) -> Result<String> {
    let css = r#"<link data-trunk rel="css" href="static/style.css""#;
    let rust = r#"<link data-trunk rel="rust" "#;
    if !template.contains(css) || !template.contains(rust) {
        return Err(format!(
            "index.html no longer has `{css}` and `{rust}`: update xtask/src/dist.rs"
        ));
    }
    Ok(template
        .replace(css, r#"<link data-trunk rel="css" href="../../../static/style.css""#)
        .replace(
            rust,
            &format!(
                r#"<link data-trunk rel="rust" href="../../../Cargo.toml" data-bin="clusterscope" data-cargo-no-default-features data-cargo-features="{feature}" "#
            ),
        ))
}

/// The file stem of the app module Trunk's index.html loads
/// (`clusterscope-<hash>`).
fn module_stem(html: &str) -> Result<String> {
    let start = "import init, * as bindings from './";
    let at = html
        .find(start)
        .ok_or("Trunk's index.html has no module import: update xtask/src/dist.rs")?
        + start.len();
    let stem = html[at..]
        .split(".js'")
        .next()
        .filter(|s| !s.contains(['/', '\'', '"']))
        .ok_or("Trunk's module import is not `./NAME.js`")?;
    Ok(stem.to_string())
}

/// Trunk's index.html with its loading script and preloads replaced by a
/// loader that fetches the download of the link's protocol.
fn with_loader(html: &str, stems: &[(&str, &[&str], String)]) -> Result<String> {
    let start = html
        .find(r#"<script type="module">"#)
        .ok_or("Trunk's index.html has no module script")?;
    let end = html[start..]
        .find("</head>")
        .map(|i| start + i)
        .ok_or("Trunk's index.html has no </head>")?;
    let downloads: Vec<String> = stems
        .iter()
        .map(|(feature, _, stem)| format!("{feature}: './{stem}'"))
        .collect();
    let protocols: Vec<String> = stems
        .iter()
        .flat_map(|(feature, protocols, _)| {
            protocols.iter().map(move |p| format!("{p}: '{feature}'"))
        })
        .collect();
    let default = stems.first().ok_or("no downloads")?.0;
    let loader = format!(
        r#"<script>
// Written by `cargo xtask dist`: one download per protocol family, and a page
// fetches only the one its link's p= names (Raft without one). A classic
// script, so that both fetches start while the page is still being parsed.
(async () => {{
  const downloads = {{ {} }};
  const protocols = {{ {} }};
  const p = new URLSearchParams(location.hash.slice(1)).get('p');
  const stem = downloads[Object.hasOwn(protocols, p) ? protocols[p] : '{default}'];
  try {{
    const wasm = fetch(`${{stem}}_bg.wasm`);
    const bindings = await import(`${{stem}}.js`);
    // The app mounts on #app as it starts.
    if (document.readyState === 'loading') await new Promise((r) => addEventListener('DOMContentLoaded', r, {{ once: true }}));
    const instance = await bindings.default({{ module_or_path: wasm }});
    window.wasmBindings = bindings;
    dispatchEvent(new CustomEvent('TrunkApplicationStarted', {{ detail: {{ wasm: instance }} }}));
  }} catch (e) {{
    const show = () => {{
      const banner = document.getElementById('panic-banner');
      banner.textContent = `Clusterscope could not load ${{stem}}: ${{e}}. Reload the page to try again.`;
      banner.hidden = false;
    }};
    if (document.readyState === 'loading') addEventListener('DOMContentLoaded', show); else show();
  }}
}})();
</script>
"#,
        downloads.join(", "),
        protocols.join(", "),
    );
    Ok(format!("{}{loader}{}", &html[..start], &html[end..]))
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What each download weighs: its wasm and JS, and the CSS every page
/// loads, as a static server would send them (gzip -9).
fn print_sizes(dist: &Path, downloads: &[(&str, String)]) -> Result<()> {
    announce("Sizes of dist/ (gzip -9, as a static server would send them)");
    let css: Vec<PathBuf> = fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "css"))
        .collect();
    println!(
        "{:8}  {:>12}  {:>12}  {:>12}  {:>12}",
        "download", "wasm", "JS", "CSS", "total"
    );
    for (feature, stem) in downloads {
        let files = [
            vec![dist.join(format!("{stem}_bg.wasm"))],
            vec![dist.join(format!("{stem}.js"))],
            css.clone(),
        ];
        let mut sizes = Vec::new();
        for group in &files {
            let mut size = 0;
            for file in group {
                size += gzip_size(file)?;
            }
            sizes.push(size);
        }
        let total: u64 = sizes.iter().sum();
        println!(
            "{feature:8}  {:>12}  {:>12}  {:>12}  {:>12}",
            kib(sizes[0]),
            kib(sizes[1]),
            kib(sizes[2]),
            format!("{} ({:.1} KB)", kib(total), total as f64 / 1000.0)
        );
    }
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

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Trunk 0.21 writes into index.html for a release build.
    const TRUNK_HTML: &str = r#"<head>
    <link rel="stylesheet" href="./style-1.css"/>
<script type="module">
import init, * as bindings from './clusterscope-abc123.js';
const wasm = await init({ module_or_path: './clusterscope-abc123_bg.wasm' });
window.wasmBindings = bindings;
</script>
  <link rel="modulepreload" href="./clusterscope-abc123.js"></head>
  <body></body>"#;

    #[test]
    fn each_download_builds_from_index_html_with_its_feature_alone() {
        let template = std::fs::read_to_string(project_root().join("index.html")).unwrap();
        let html = download_html(&template, "pubsub").unwrap();
        assert!(
            html.contains(r#"href="../../../static/style.css""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="../../../Cargo.toml" data-bin="clusterscope" data-cargo-no-default-features data-cargo-features="pubsub""#),
            "{html}"
        );
        assert!(download_html("<html></html>", "raft").is_err());
    }

    #[test]
    fn the_loader_replaces_trunks_script_and_maps_every_protocol() {
        assert_eq!(module_stem(TRUNK_HTML).unwrap(), "clusterscope-abc123");
        let stems = [
            ("raft", &["raft"][..], "clusterscope-r".to_string()),
            (
                "paxos",
                &["paxos", "multipaxos"][..],
                "clusterscope-p".to_string(),
            ),
        ];
        let html = with_loader(TRUNK_HTML, &stems).unwrap();
        assert!(
            !html.contains("abc123"),
            "Trunk's own loading is gone: {html}"
        );
        assert!(
            html.contains(
                "const downloads = { raft: './clusterscope-r', paxos: './clusterscope-p' };"
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "const protocols = { raft: 'raft', paxos: 'paxos', multipaxos: 'paxos' };"
            ),
            "{html}"
        );
        assert!(
            html.contains("Object.hasOwn(protocols, p) ? protocols[p] : 'raft'"),
            "{html}"
        );
        assert!(
            html.starts_with("<head>") && html.ends_with("</head>\n  <body></body>"),
            "{html}"
        );
        // Every protocol the app lists has a download.
        let listed: Vec<&str> = DOWNLOADS
            .iter()
            .flat_map(|(_, ps)| ps.iter().copied())
            .collect();
        assert_eq!(listed, ["raft", "paxos", "multipaxos", "pubsub"]);
    }

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
