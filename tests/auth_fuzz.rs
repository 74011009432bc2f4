//! Property tests: the JWT parser, the scope parser and the token endpoint's exchange never
//! panic, whatever they are given, and never issue a token for garbage.

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hbpc_gateway::app::auth::client_registry::ClientRegistry;
use hbpc_gateway::app::auth::gateway_key::GatewayKey;
use hbpc_gateway::app::auth::token_service::TokenService;
use hbpc_gateway::config::{AuthSettings, ClientSettings};
use hbpc_gateway::domain::auth::jwt_parts::{peek_claims, read_header};
use hbpc_gateway::domain::auth::scope::{Grant, ScopeSet};
use hbpc_gateway::store::security::{AuditFilter, AuditRow, QuarantinedAudit, SecurityStore};
use hbpc_gateway::store::write_audit::{Settlement, StoredIntent};
use hbpc_gateway::store::StoreError;
use proptest::prelude::*;
use std::sync::{Arc, Mutex};

/// An in-memory replay cache for the token service.
#[derive(Default)]
struct MemoryStore {
    jtis: Mutex<std::collections::HashSet<(String, String)>>,
}

#[async_trait]
impl SecurityStore for MemoryStore {
    async fn claim_jti(&self, c: &str, j: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Ok(self.jtis.lock().unwrap().insert((c.into(), j.into())))
    }
    async fn append_audit(&self, _: Vec<AuditRow>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn audit_intents(&self, _: usize) -> Result<Vec<StoredIntent>, StoreError> {
        Ok(Vec::new())
    }
    async fn settle_audit_intents(&self, _: Settlement) -> Result<(), StoreError> {
        Ok(())
    }
    async fn quarantine_audit(&self, _: Vec<QuarantinedAudit>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn quarantined_audit(
        &self,
        _: usize,
    ) -> Result<(u64, Vec<QuarantinedAudit>), StoreError> {
        Ok((0, Vec::new()))
    }
    async fn audit_event(&self, _: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    async fn audit_events(&self, _: &AuditFilter) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

fn service() -> TokenService {
    let jwks = format!(
        "{}/tests/keys/ec384-client.jwks.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let settings = AuthSettings {
        enabled: true,
        clients: vec![ClientSettings {
            client_id: "c1".into(),
            scopes: vec!["system/*.rs".into()],
            jwks: String::new(),
            jwks_file: jwks,
            own_referrals_only: false,
        }],
        ..AuthSettings::default()
    };
    TokenService::new(
        ClientRegistry::load(&settings).unwrap(),
        GatewayKey::ephemeral().unwrap(),
        "hbpc-gateway".into(),
        300,
        None,
        Arc::new(MemoryStore::default()),
    )
}

/// Strings that look a little like JWTs: three base64url parts of JSON-ish noise.
fn jwt_like() -> impl Strategy<Value = String> {
    let json_ish = prop_oneof![
        any::<String>(),
        Just(r#"{"alg":"ES384"}"#.to_string()),
        Just(r#"{"alg":"none"}"#.to_string()),
        Just(r#"{"alg":"RS384","kid":7}"#.to_string()),
        Just(r#"{"iss":"c1","sub":"c1","aud":"x","exp":1e400,"jti":[]}"#.to_string()),
        Just(
            r#"{"iss":"c1","sub":"c1","aud":["http://t/auth/token"],"exp":-1,"jti":"j"}"#
                .to_string()
        ),
        "[{}\\[\\]\":,a-z0-9]{0,40}",
    ];
    (json_ish.clone(), json_ish, any::<Vec<u8>>()).prop_map(|(h, c, s)| {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(h),
            URL_SAFE_NO_PAD.encode(c),
            URL_SAFE_NO_PAD.encode(s)
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn jwt_parser_never_panics(raw in any::<String>(), like in jwt_like()) {
        for input in [&raw, &like] {
            let _ = read_header(input);
            let _ = peek_claims::<serde_json::Value>(input);
        }
    }

    #[test]
    fn scope_parser_never_panics(raw in any::<String>(), s in "system/[A-Za-z*$]{0,12}\\.?[a-z*]{0,6}") {
        let _ = Grant::parse(&raw);
        if let Ok(g) = Grant::parse(&s) {
            // what parses prints back to something that parses to the same grant
            prop_assert_eq!(Grant::parse(&g.to_string()), Ok(g));
        }
        let _ = ScopeSet::grantable(&raw, &ScopeSet::parse_lenient(&s));
    }

    #[test]
    fn token_exchange_never_panics_nor_issues_for_garbage(
        assertion in prop_oneof![any::<String>(), jwt_like()],
        grant in prop_oneof![Just("client_credentials".to_string()), any::<String>()],
        scope in prop_oneof![Just("system/*.rs".to_string()), any::<String>()],
        extra in proptest::collection::vec((any::<String>(), any::<String>()), 0..3),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let svc = service();
        let mut form = vec![
            ("grant_type".to_string(), grant),
            ("scope".to_string(), scope),
            ("client_assertion_type".to_string(),
             "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string()),
            ("client_assertion".to_string(), assertion.clone()),
        ];
        form.extend(extra);
        let result = rt.block_on(svc.exchange(&form, "http://t/auth/token"));
        prop_assert!(result.is_err(), "issued a token for {assertion}");
        prop_assert!(rt.block_on(svc.authenticate(&assertion)).is_err());
    }
}
