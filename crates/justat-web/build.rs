//! Installs the pinned front-end packages (`assets/package-lock.json`) with `npm ci` into
//! `OUT_DIR` and generates the table of files embedded into the binary, so a fresh machine
//! needs nothing beyond `cargo build`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let assets = manifest.join("assets");
    for f in ["package.json", "package-lock.json", ".npmrc"] {
        println!("cargo:rerun-if-changed=assets/{f}");
    }
    println!("cargo:rerun-if-changed=static");

    let npm_dir = out.join("npm");
    fs::create_dir_all(&npm_dir).unwrap();
    let lock = fs::read_to_string(assets.join("package-lock.json")).unwrap();
    let installed_lock = fs::read_to_string(npm_dir.join("package-lock.json")).unwrap_or_default();
    let dsfr = npm_dir.join("node_modules/@gouvfr/dsfr");
    if installed_lock != lock || !dsfr.join("dist/dsfr.min.css").exists() {
        for f in ["package.json", "package-lock.json", ".npmrc"] {
            fs::copy(assets.join(f), npm_dir.join(f)).unwrap();
        }
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&npm_dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("justat-web needs Node.js and npm to install the State design system (DSFR): {e}")
            });
        assert!(status.success(), "`npm ci` failed in {}", npm_dir.display());
    }

    let pkg = fs::read_to_string(dsfr.join("package.json")).unwrap();
    let version = pkg
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"version\": \""))
        .and_then(|v| v.split('"').next())
        .expect("a version in @gouvfr/dsfr/package.json")
        .to_string();

    let dist = dsfr.join("dist");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for f in [
        "dsfr.min.css",
        "dsfr.module.min.js",
        "dsfr.nomodule.min.js",
        "utility/icons/icons.min.css",
    ] {
        files.push((f.to_string(), dist.join(f)));
    }
    for dir in ["fonts", "favicon", "icons"] {
        collect(&dist, &dist.join(dir), &mut files);
    }
    files.retain(|(name, _)| !name.ends_with(".map"));
    files.sort();

    let mut code = String::new();
    writeln!(code, "/// The version of `@gouvfr/dsfr` embedded.").unwrap();
    writeln!(code, "pub const DSFR_VERSION: &str = {version:?};").unwrap();
    writeln!(
        code,
        "/// The embedded files of the DSFR `dist` folder, by path, sorted."
    )
    .unwrap();
    writeln!(code, "pub static DSFR_FILES: &[(&str, &[u8])] = &[").unwrap();
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
    fs::write(out.join("dsfr_assets.rs"), code).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((rel, path));
        }
    }
}
