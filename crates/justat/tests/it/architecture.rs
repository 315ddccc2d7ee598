//! The crate graph follows the flow of data (ARCHITECTURE.md): this test fails when a crate
//! gains a dependency its place in the flow forbids or uses an external crate another one owns,
//! when a crate other than `justat-publish` makes a publication's `DataTable`, when the
//! binary's command modules import each other or its modules import each other in a circle,
//! and when a pure crate names the clock, the disk, the network or a runtime.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// For each workspace crate, the workspace crates it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("justat-model", &[]),
    ("justat-synth", &["justat-model"]),
    ("justat-store", &["justat-model"]),
    ("justat-engine", &["justat-model", "justat-store"]),
    ("justat-sdc", &["justat-model"]),
    ("justat-render", &["justat-model", "justat-sdc"]),
    ("justat-pdf", &[]),
    ("justat-survey", &["justat-model"]),
    ("justat-mail", &["justat-model"]),
    ("justat-indicators", &["justat-model"]),
    (
        "justat-web",
        &[
            "justat-model",
            "justat-store",
            "justat-render",
            "justat-indicators",
            "justat-survey",
        ],
    ),
    (
        "justat-publish",
        &[
            "justat-model",
            "justat-store",
            "justat-engine",
            "justat-sdc",
            "justat-render",
            "justat-pdf",
            "justat-indicators",
            "justat-survey",
        ],
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
            "justat-publish",
            "justat-mail",
            "justat-indicators",
            "justat-survey",
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
    ("anyhow", "justat"),
    ("lettre", "justat-mail"),
];

/// What the pure crates never name: the clock, the disk, the network, the environment or an
/// async runtime. Their rules take `now` and their inputs as arguments, so they are tested at
/// their boundaries without I/O. `justat-render` reads a publication's folder in `source.rs`
/// and nowhere else; `justat-survey` reads a questionnaire file in `load.rs` and nowhere else.
const PURE: &[(&str, &[&str])] = &[
    ("justat-model", &[]),
    ("justat-sdc", &[]),
    ("justat-render", &["source.rs"]),
    ("justat-survey", &["load.rs"]),
    ("justat-indicators", &[]),
];
const IMPURE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "Timestamp::now",
    "SystemTime",
    "Instant::now",
    "tokio",
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

/// The binary's modules and the modules each imports (`crate::x`, `crate::commands::x`, and
/// `super::x` from a command module), by name: `db`, `commands::demo`. Comments are left out.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for e in std::fs::read_dir(&path).unwrap() {
                files.push(e.unwrap().path());
            }
        } else {
            files.push(path);
        }
    }
    let mut graph = BTreeMap::new();
    for path in files {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let folder = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let module = match (folder, stem.as_str()) {
            ("src", "main") => "main".to_string(),
            ("src", _) => stem.clone(),
            (folder, "mod") => folder.to_string(),
            (folder, _) => format!("{folder}::{stem}"),
        };
        let code: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let parent = module.rsplit_once("::").map(|(p, _)| p.to_string());
        graph.insert(module.clone(), imports(&code, &module, parent.as_deref()));
    }
    // Only edges to modules that exist: `crate::one_message` names a function.
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    graph
}

/// The modules a file's code imports: every `crate::a[::b]` and `super::a`, with the braces of
/// `crate::{a, b}` opened. `parent` is the folder module a file is in (`super::` there names a
/// sibling); in a top-level file `super::` names the module itself (its tests) or the root.
fn imports(code: &str, module: &str, parent: Option<&str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (prefix, base) in [("crate::", None), ("super::", parent)] {
        if prefix == "super::" && base.is_none() {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let paths: Vec<String> = if let Some(inner) = rest.strip_prefix('{') {
                let end = inner.find('}').unwrap_or(inner.len());
                inner[..end]
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                vec![rest[..end].to_string()]
            };
            for p in paths {
                let mut segments = p.split("::").filter(|s| !s.is_empty());
                let Some(first) = segments.next() else {
                    continue;
                };
                let name = match (base, first, segments.next()) {
                    (Some(base), first, _) => format!("{base}::{first}"),
                    (None, folder, Some(second))
                        if second.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                    {
                        // `crate::commands::demo`: the module inside the folder, kept if it is one.
                        out.insert(folder.to_string());
                        format!("{folder}::{second}")
                    }
                    (None, first, _) => first.to_string(),
                };
                if name != module {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// The command modules (under `commands/`) that import another command module.
fn command_imports(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let is_command = |m: &str| m.starts_with("commands::");
    graph
        .iter()
        .filter(|(m, _)| is_command(m))
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| is_command(d))
                .map(move |d| (m.clone(), d.clone()))
        })
        .collect()
}

/// A circle of imports among the modules, if there is one (as the list of modules around it).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_binarys_commands_import_no_other_command_and_its_modules_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(graph.contains_key("commands::demo") && graph.contains_key("db"));
    assert!(graph["commands::demo"].contains("db"), "{graph:?}");
    assert_eq!(
        command_imports(&graph),
        Vec::<(String, String)>::new(),
        "a command module imports another command module: move what they share into an \
         infrastructure module or a library crate"
    );
    assert_eq!(
        cycle(&graph),
        None,
        "the binary's modules import each other in a circle"
    );
}

#[test]
fn the_module_checks_see_imports_between_commands_and_circles() {
    let code = "use crate::config::Config;\nuse crate::{db, server::serve_store};\n\
                use super::publication::act_as;\n// crate::jobs in a comment\n";
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect();
    let mut deps = imports(&code, "commands::demo", Some("commands"));
    // `module_graph` keeps the names that are modules: `server::serve_store` is a function.
    deps.retain(|d| d != "server::serve_store");
    let expected = ["commands::publication", "config", "db", "server"];
    assert_eq!(deps, expected.map(String::from).into_iter().collect());
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("commands::demo", &["db", "commands::publication"][..]),
        ("commands::publication", &["db"][..]),
        ("db", &["config"][..]),
        ("config", &[][..]),
    ]
    .into_iter()
    .map(|(m, d)| (m.to_string(), d.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(
        command_imports(&graph),
        [(
            "commands::demo".to_string(),
            "commands::publication".to_string()
        )]
    );
    assert_eq!(cycle(&graph), None);
    let mut circular = graph.clone();
    circular.get_mut("config").unwrap().insert("db".into());
    assert_eq!(
        cycle(&circular),
        Some(vec!["db".into(), "config".into(), "db".into()])
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_justat_publish_makes_a_publications_data_tables() {
    // `DataTable::new` asks for the proof of a clean audit; the crate that reads cubes,
    // protects and certifies is the one that calls it (render's own tests aside).
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(crates, &mut files);
    let callers: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("DataTable::new(")
        })
        .map(|f| f.strip_prefix(crates).unwrap().display().to_string())
        .filter(|f| !f.starts_with("justat-publish/") && !f.starts_with("justat-render/"))
        .filter(|f| !f.ends_with("architecture.rs"))
        .collect();
    assert!(
        callers.is_empty(),
        "DataTable::new called outside justat-publish: {callers:?}"
    );
}

#[test]
fn the_pure_crates_name_no_clock_disk_network_or_runtime() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    for (name, allowed) in PURE {
        let src = crates.join(name).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        assert!(!files.is_empty(), "no sources under {}", src.display());
        for f in files {
            let file_name = f.file_name().unwrap().to_string_lossy().into_owned();
            if allowed.contains(&file_name.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for word in IMPURE.iter().filter(|w| code.contains(*w)) {
                    found.push(format!(
                        "{}:{}: {word}",
                        f.strip_prefix(crates).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "I/O in a pure crate: {found:#?}");
}
