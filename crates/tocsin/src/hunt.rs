//! `tocsin hunt`

use crate::cli::HuntArgs;
use crate::config::Config;

pub fn run(_args: HuntArgs, _config: &Config) -> anyhow::Result<()> {
    anyhow::bail!("the Sigma engine is not in this build yet")
}
