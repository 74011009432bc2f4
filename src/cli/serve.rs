//! `hbpc-gateway serve`: the FHIR REST service, until SIGTERM or Ctrl-C.

use crate::config::Settings;
use crate::{http, telemetry};
use anyhow::Context;

pub fn serve(settings: Settings, insecure: bool) -> anyhow::Result<()> {
    telemetry::init(&settings.log);
    actix_web::rt::System::new()
        .block_on(http::server::serve(settings, insecure))
        .context("hbpc-gateway serve failed")
}
