//! Which upstream a referral's resources go to: the one listing the message's source endpoint,
//! else the one listing the requester's organisation, else `delivery.default_upstream`.

use super::DeliverySource;
use crate::config::DeliverySettings;

pub fn upstream_for<'a>(
    settings: &'a DeliverySettings,
    source: &DeliverySource,
) -> Option<&'a str> {
    let listing = |wanted: &Option<String>| {
        let wanted = wanted.as_deref().filter(|w| !w.is_empty())?;
        settings
            .upstreams
            .iter()
            .find(|(_, u)| u.sources.iter().any(|s| s == wanted))
            .map(|(name, _)| name.as_str())
    };
    listing(&source.message_source_endpoint)
        .or_else(|| listing(&source.requester_organization))
        .or_else(|| {
            let d = settings.default_upstream.as_str();
            settings.upstreams.contains_key(d).then_some(d)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamSettings;

    fn settings() -> DeliverySettings {
        let mut s = DeliverySettings::default();
        let up = |sources: &[&str]| UpstreamSettings {
            base_url: "http://127.0.0.1:9/fhir".into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            ..UpstreamSettings::default()
        };
        s.upstreams.insert("a".into(), up(&["http://ehr-a/msg"]));
        s.upstreams.insert("b".into(), up(&["Organization/b"]));
        s
    }

    #[test]
    fn source_then_organisation_then_default() {
        let mut s = settings();
        let src = |m: Option<&str>, o: Option<&str>| DeliverySource {
            message_source_endpoint: m.map(Into::into),
            requester_organization: o.map(Into::into),
        };
        assert_eq!(
            upstream_for(&s, &src(Some("http://ehr-a/msg"), Some("Organization/b"))),
            Some("a")
        );
        assert_eq!(
            upstream_for(&s, &src(Some("http://other"), Some("Organization/b"))),
            Some("b")
        );
        assert_eq!(upstream_for(&s, &src(None, Some("Organization/x"))), None);
        s.default_upstream = "b".into();
        assert_eq!(upstream_for(&s, &src(None, None)), Some("b"));
        s.upstreams.clear();
        assert_eq!(upstream_for(&s, &src(None, None)), None);
    }
}
