//! `tocsin demo`: the whole product on embedded defaults, on a realistic
//! synthetic province, at http://127.0.0.1:8080.

use anyhow::Context;

use crate::cli::DemoArgs;
use crate::config::Config;

pub async fn run(args: DemoArgs, config: &Config) -> anyhow::Result<()> {
    let db = args.data_dir.join("demo.db");
    // A fresh database every run: the demo must look the same each time.
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove old demo database {p}"));
            }
        }
    }
    let store_cfg = tocsin_store::StoreConfig::new(&db.display().to_string());
    let store = store_cfg.build().await?;
    let inv = tocsin_inventory::synth::province();
    store
        .replace_inventory(&inv, "demo", "synthetic province Ngọc Sơn (tocsin demo)")
        .await?;
    println!(
        "demo province Ngọc Sơn: {} agencies, {} assets in {}",
        inv.agencies.len(),
        inv.assets.len(),
        db.display()
    );
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    println!("console: http://{}/  (Ctrl-C to stop)", args.listen);
    let web = tocsin_web::WebConfig {
        listen: args.listen,
        ..config.web.clone()
    };
    crate::serve::serve_with(config, store, web).await
}
