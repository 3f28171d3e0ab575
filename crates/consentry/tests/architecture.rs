//! The module map of ARCHITECTURE.md, checked: every `crate::` reference in `src/` goes
//! down the layers (features never import each other), and no module cycle exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom. A module may import modules of lower layers; within a
/// layer only where `same_layer` allows it, and never in a cycle.
const LAYERS: &[(&str, &[&str], bool)] = &[
    (
        "top",
        &[
            "service",
            "builder",
            "axum",
            "testing",
            "fuzzing",
            "internals",
        ],
        true,
    ),
    ("endpoint", &["endpoint", "purpose", "render"], true),
    (
        "features",
        &["session", "consent", "gate", "referral", "ledger", "store"],
        false,
    ),
    (
        "mechanisms",
        &[
            "error", "keys", "codec", "cookies", "clock", "assets", "origin", "random", "hashing",
            "html",
        ],
        true,
    ),
    ("vocabulary", &["policy"], false),
];

fn layer_of(module: &str) -> Option<(usize, bool)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, modules, _))| modules.contains(&module))
        .map(|(index, (_, _, same_layer))| (index, *same_layer))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's top-level module a source file belongs to (`None` for `lib.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_owned())
}

/// Every `crate::<name>` in code (comments and doc comments skipped).
fn references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                !after.starts_with('{'),
                "grouped `crate::{{…}}` imports hide what a module uses: {line}"
            );
            if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
    }
    found
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let imports = graph.entry(module.clone()).or_default();
        for name in references(&text) {
            // Names that are not modules are the crate root's re-exports.
            if name != module && layer_of(&name).is_some() {
                imports.insert(name);
            }
        }
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    for module in import_graph().keys() {
        assert!(
            layer_of(module).is_some(),
            "module `{module}` is in no layer: add it to ARCHITECTURE.md and to LAYERS here"
        );
    }
}

#[test]
fn imports_go_down_the_layers() {
    let mut wrong = Vec::new();
    for (module, imports) in import_graph() {
        let Some((layer, _)) = layer_of(&module) else {
            continue;
        };
        for import in imports {
            let (target, same_layer_ok) = layer_of(&import).unwrap();
            if target < layer || (target == layer && !same_layer_ok) {
                wrong.push(format!(
                    "`{module}` ({}) imports `{import}` ({})",
                    LAYERS[layer].0, LAYERS[target].0
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

fn visit(
    module: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) {
    if done.contains(module) {
        return;
    }
    if let Some(start) = path.iter().position(|m| m == module) {
        panic!("module cycle: {} -> {module}", path[start..].join(" -> "));
    }
    path.push(module.to_owned());
    for next in graph.get(module).into_iter().flatten() {
        visit(next, graph, path, done);
    }
    path.pop();
    done.insert(module.to_owned());
}

#[test]
fn there_is_no_module_cycle() {
    let graph = import_graph();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_checks_see_a_violation() {
    // The scanner finds the references a violation would add.
    let text = "use crate::session::Session;\n// crate::gate in a comment\nlet x = crate::Key::generate();";
    let found = references(text);
    assert!(found.contains("session") && found.contains("Key") && !found.contains("gate"));
}
