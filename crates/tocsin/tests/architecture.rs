//! The floor plan, held by the dependency graph: every arrow points
//! downstream, the detection layer stays synchronous and free of SQL, and
//! the running stages do not reach into each other. Read from `cargo
//! metadata`, so a new dependency that breaks the plan fails here.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace crate's layer, from the vocabulary up to the binary.
const LAYERS: &[(&str, u8)] = &[
    ("tocsin-model", 0),
    ("tocsin-parse", 1),
    ("tocsin-sigma", 1),
    ("tocsin-detect", 1),
    ("tocsin-inventory", 1),
    ("tocsin-access", 1),
    ("tocsin-intel", 1),
    ("tocsin-webattack", 1),
    ("tocsin-dos", 1),
    ("tocsin-store", 2),
    ("tocsin-queue", 2),
    ("tocsin-telemetry", 2),
    ("tocsin-net", 2),
    ("tocsin-ingest", 3),
    ("tocsin-pipeline", 3),
    ("tocsin-hunt", 3),
    ("tocsin-feeds", 3),
    ("tocsin-web", 3),
    ("tocsin-sim", 4),
    ("tocsin-app", 4),
    ("tocsin", 5),
];

struct Graph {
    /// package name → names of its normal (not dev, not build) dependencies.
    deps: BTreeMap<String, BTreeSet<String>>,
}

/// The host's target triple (the graph is read for it alone, so no other
/// platform's crates need to be on this machine).
fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

impl Graph {
    /// The graph, read once for all the tests of this file.
    fn load() -> &'static Graph {
        static G: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
        G.get_or_init(Graph::read)
    }

    fn read() -> Graph {
        let out = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", &host()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let name_of: BTreeMap<&str, &str> = v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        let mut deps = BTreeMap::new();
        for n in v["resolve"]["nodes"].as_array().unwrap() {
            let name = name_of[n["id"].as_str().unwrap()].to_string();
            let normal: BTreeSet<String> = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| name_of[d["pkg"].as_str().unwrap()].to_string())
                .collect();
            deps.entry(name)
                .or_insert_with(BTreeSet::new)
                .extend(normal);
        }
        Graph { deps }
    }

    /// Everything `name` pulls in at run time (its normal dependencies,
    /// theirs, and so on).
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![name.to_string()];
        while let Some(n) = todo.pop() {
            for d in self.deps.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    }
}

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

#[test]
fn every_workspace_crate_has_a_layer() {
    let g = Graph::load();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            layer(&name).is_some(),
            "crate {name} has no place in LAYERS"
        );
        assert!(g.deps.contains_key(&name), "{name} is not in the workspace");
    }
}

#[test]
fn arrows_point_downstream() {
    let g = Graph::load();
    for (name, l) in LAYERS {
        for d in &g.deps[*name] {
            if let Some(dl) = layer(d) {
                assert!(
                    dl < *l
                        || (dl == *l && *l <= 1)
                        // Infrastructure counts into telemetry.
                        || (*l == 2 && d == "tocsin-telemetry")
                        || (*name, d.as_str()) == ("tocsin-app", "tocsin-sim"),
                    "{name} (layer {l}) depends on {d} (layer {dl})"
                );
            }
        }
    }
}

#[test]
fn the_detection_layer_has_no_async_runtime_and_no_sql() {
    let g = Graph::load();
    for (name, l) in LAYERS.iter().filter(|(_, l)| *l <= 1) {
        let all = g.closure(name);
        for banned in ["tokio", "sqlx", "sqlx-core", "async-nats"] {
            assert!(
                !all.contains(banned),
                "{name} (layer {l}) pulls in {banned}"
            );
        }
    }
}

#[test]
fn running_stages_stay_apart() {
    let g = Graph::load();
    let ingest = g.closure("tocsin-ingest");
    assert!(
        !ingest.contains("tocsin-store"),
        "ingest depends on the store"
    );
    assert!(!ingest.contains("sqlx"), "ingest pulls in SQL");
    let web = g.closure("tocsin-web");
    for stage in [
        "tocsin-ingest",
        "tocsin-pipeline",
        "tocsin-hunt",
        "tocsin-feeds",
    ] {
        assert!(!web.contains(stage), "the console depends on {stage}");
    }
    for stage in [
        "tocsin-ingest",
        "tocsin-pipeline",
        "tocsin-hunt",
        "tocsin-web",
        "tocsin-feeds",
    ] {
        let all = g.closure(stage);
        for other in [
            "tocsin-ingest",
            "tocsin-pipeline",
            "tocsin-hunt",
            "tocsin-web",
            "tocsin-feeds",
        ] {
            assert!(
                stage == other || !all.contains(other),
                "{stage} depends on {other}"
            );
        }
        assert!(
            !all.contains("tocsin-sim"),
            "{stage} depends on the simulation"
        );
        assert!(
            !all.contains("tocsin-app"),
            "{stage} depends on the composition"
        );
    }
}

#[test]
fn the_binary_is_its_command_line() {
    let g = Graph::load();
    let own: BTreeSet<&str> = g.deps["tocsin"].iter().map(String::as_str).collect();
    let allowed: BTreeSet<&str> = [
        "tocsin-app",
        "tocsin-sim",
        "clap",
        "anyhow",
        "tokio",
        "tracing-subscriber",
        "mimalloc",
    ]
    .into();
    let extra: Vec<_> = own.difference(&allowed).collect();
    assert!(extra.is_empty(), "the binary depends on {extra:?}");
}
