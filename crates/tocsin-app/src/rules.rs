//! The detection rules in force: Tocsin's own pack, built into the binary,
//! or the directories the configuration names.

use std::path::{Path, PathBuf};

use tocsin_model::AlertKind;
use tocsin_sigma::{Engine, EngineBuilder, EngineConfig};

/// Tocsin's own rule pack, built into the binary.
#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../rules/"]
struct RulePack;

/// Builds the engine from rule paths, or from the built-in pack when none.
pub fn build_engine(rules: &[PathBuf], config: EngineConfig) -> (Engine, tocsin_sigma::LoadReport) {
    let mut b = EngineBuilder::new(config);
    if rules.is_empty() {
        let mut names: Vec<_> = RulePack::iter().collect();
        names.sort();
        for name in names.into_iter().filter(|n| n.ends_with(".yml")) {
            if let Some(f) = RulePack::get(&name) {
                let text = String::from_utf8_lossy(&f.data);
                b.add_text(&text, &Path::new("rules").join(name.as_ref()));
            }
        }
    } else {
        for r in rules {
            b.add_path(r);
        }
    }
    b.build()
}

/// What the console lists of the loaded rules.
pub fn rule_infos(engine: &Engine) -> Vec<tocsin_web::RuleInfo> {
    let ls = |l: &tocsin_sigma::Logsource| {
        [&l.product, &l.category, &l.service]
            .iter()
            .filter_map(|x| x.as_deref())
            .collect::<Vec<_>>()
            .join("/")
    };
    let info = |m: &tocsin_sigma::RuleMeta, kind: AlertKind| tocsin_web::RuleInfo {
        id: m.id.clone().unwrap_or_default(),
        title: m.title.clone(),
        level: m.level,
        kind,
        logsource: ls(&m.logsource),
        tags: m.tags.clone(),
        description: m.description.clone().unwrap_or_default(),
        file: m.file.display().to_string(),
        vi: m
            .vi
            .as_ref()
            .map(|l| (l.title.clone(), l.description.clone())),
    };
    let mut v: Vec<_> = engine
        .rules()
        .iter()
        .map(|r| info(&r.meta, AlertKind::Rule))
        .chain(
            engine
                .correlations()
                .iter()
                .map(|c| info(&c.meta, AlertKind::Correlation)),
        )
        .collect();
    v.sort_by(|a, b| b.level.cmp(&a.level).then(a.title.cmp(&b.title)));
    v
}
