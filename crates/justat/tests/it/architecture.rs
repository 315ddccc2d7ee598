//! The crate graph follows the flow of data (ARCHITECTURE.md): this test fails when a crate
//! gains a dependency its place in the flow forbids.

use std::collections::BTreeMap;
use std::path::Path;

/// For each workspace crate, the workspace crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("justat-model", &[]),
    ("justat-synth", &["justat-model"]),
    ("justat-store", &["justat-model"]),
    ("justat-engine", &["justat-model", "justat-store"]),
    ("justat-sdc", &["justat-model"]),
    ("justat-render", &["justat-model"]),
    ("justat-pdf", &[]),
    (
        "justat-web",
        &["justat-model", "justat-store", "justat-render"],
    ),
    (
        "justat",
        &[
            "justat-model",
            "justat-store",
            "justat-engine",
            "justat-sdc",
            "justat-web",
            "justat-synth",
            "justat-render",
            "justat-pdf",
        ],
    ),
];

/// Heavy or boundary-defining external crates, and the only crate allowed to use each.
const OWNED: &[(&str, &str)] = &[
    ("sqlx", "justat-store"),
    ("axum", "justat-web"),
    ("minijinja", "justat-web"),
    ("datafusion", "justat-engine"),
    ("microlp", "justat-sdc"),
    ("highs", "justat-sdc"),
    ("rust_xlsxwriter", "justat-render"),
    ("pulldown-cmark", "justat-render"),
    ("typst", "justat-pdf"),
];

fn dependencies(manifest: &Path) -> (String, Vec<String>) {
    let table: toml::Table = std::fs::read_to_string(manifest).unwrap().parse().unwrap();
    let name = table["package"]["name"].as_str().unwrap().to_string();
    let deps = table
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    (name, deps)
}

#[test]
fn crates_depend_only_on_what_the_flow_of_data_allows() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let allowed: BTreeMap<_, _> = ALLOWED.iter().copied().collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(crates).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let (name, deps) = dependencies(&manifest);
        let Some(ok) = allowed.get(name.as_str()) else {
            panic!(
                "crate {name} is not in the architecture test: add it to ALLOWED and to ARCHITECTURE.md"
            );
        };
        for dep in &deps {
            if dep.starts_with("justat") {
                assert!(
                    ok.contains(&dep.as_str()),
                    "{name} must not depend on {dep}"
                );
            }
            if let Some((_, owner)) = OWNED.iter().find(|(c, _)| c == dep) {
                assert_eq!(&name, owner, "only {owner} may depend on {dep}, not {name}");
            }
        }
        seen += 1;
    }
    assert_eq!(seen, ALLOWED.len());
}
