//! `hbpc-gateway check-config`: validates the configuration and prints the effective settings.

use crate::config::Settings;
use anyhow::Context;

pub fn check_config(settings: &Settings) -> anyhow::Result<()> {
    let text = toml::to_string_pretty(settings).context("cannot render the settings")?;
    println!("# configuration is valid; effective settings:\n{text}");
    Ok(())
}
