//! `hbpc-gateway clients add|list|remove`, `keys generate` and `assertion`: operator tools for
//! SMART Backend Services.

use crate::app::auth::client_registry::{read_clients_file, ClientsFile};
use crate::app::auth::gateway_key::{generate_pem, pem_to_der, GatewayKey};
use crate::config::{validate_clients, ClientSettings, Settings};
use crate::domain::auth::client_assertion::MAX_LIFETIME_SECS;
use crate::domain::auth::jwks::parse_jwks;
use fhir_engine::model::instant::now_millis;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AuthCliError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Registry(#[from] crate::app::auth::client_registry::RegistryError),
    #[error(transparent)]
    Key(#[from] crate::app::auth::gateway_key::KeyError),
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> AuthCliError {
    AuthCliError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Where `clients add|remove` write: `auth.clients_file` when set, else the config file.
enum Registry {
    ClientsFile(PathBuf),
    ConfigFile(PathBuf),
}

fn registry(settings: &Settings, config: Option<&Path>) -> Result<Registry, AuthCliError> {
    if !settings.auth.clients_file.is_empty() {
        return Ok(Registry::ClientsFile(PathBuf::from(
            &settings.auth.clients_file,
        )));
    }
    config
        .map(|c| Registry::ConfigFile(c.to_path_buf()))
        .ok_or_else(|| {
            AuthCliError::Usage(
                "no client registry to edit: set auth.clients_file or pass --config FILE".into(),
            )
        })
}

fn load(registry: &Registry) -> Result<(toml::Table, Vec<ClientSettings>), AuthCliError> {
    let path = match registry {
        Registry::ClientsFile(p) if !p.exists() => return Ok((toml::Table::new(), Vec::new())),
        Registry::ClientsFile(p) | Registry::ConfigFile(p) => p,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let table: toml::Table = text.parse().map_err(|e| file_error(path, e))?;
    let clients = match registry {
        Registry::ClientsFile(p) => read_clients_file(&p.display().to_string())?.clients,
        Registry::ConfigFile(_) => table
            .get("auth")
            .and_then(|a| a.get("clients"))
            .cloned()
            .map(|c| c.try_into::<Vec<ClientSettings>>())
            .transpose()
            .map_err(|e| file_error(path, e))?
            .unwrap_or_default(),
    };
    Ok((table, clients))
}

fn save(
    registry: &Registry,
    mut table: toml::Table,
    clients: Vec<ClientSettings>,
) -> Result<(), AuthCliError> {
    let (path, text) = match registry {
        Registry::ClientsFile(p) => (
            p,
            toml::to_string_pretty(&ClientsFile { clients }).map_err(|e| file_error(p, e))?,
        ),
        Registry::ConfigFile(p) => {
            let value = toml::Value::try_from(&clients).map_err(|e| file_error(p, e))?;
            let auth = table
                .entry("auth")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(auth) = auth.as_table_mut() else {
                return Err(file_error(p, "`auth` is not a table"));
            };
            auth.insert("clients".into(), value);
            (
                p,
                toml::to_string_pretty(&table).map_err(|e| file_error(p, e))?,
            )
        }
    };
    // Write then rename: a crash never leaves half a registry.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

pub struct AddClient {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub jwks_file: Option<String>,
    pub jwks: Option<String>,
    pub own_referrals_only: bool,
}

pub fn clients_add(
    settings: &Settings,
    config: Option<&Path>,
    add: AddClient,
    out: &mut dyn std::io::Write,
) -> Result<(), AuthCliError> {
    let reg = registry(settings, config)?;
    let (table, mut clients) = load(&reg)?;
    let scopes: Vec<String> = add
        .scopes
        .iter()
        .flat_map(|s| s.split_ascii_whitespace())
        .map(str::to_string)
        .collect();
    let client = ClientSettings {
        client_id: add.client_id,
        scopes,
        jwks: add.jwks.unwrap_or_default(),
        jwks_file: add.jwks_file.unwrap_or_default(),
        own_referrals_only: add.own_referrals_only,
    };
    // Keys must be usable now, not at the next start.
    let jwks_text = if client.jwks_file.is_empty() {
        client.jwks.clone()
    } else {
        std::fs::read_to_string(&client.jwks_file)
            .map_err(|e| file_error(Path::new(&client.jwks_file), e))?
    };
    parse_jwks(&jwks_text).map_err(|e| AuthCliError::Usage(format!("the client's JWKS: {e}")))?;
    if clients.iter().any(|c| c.client_id == client.client_id) {
        return Err(AuthCliError::Usage(format!(
            "client `{}` is already registered; remove it first",
            client.client_id
        )));
    }
    clients.push(client.clone());
    validate_clients("client", &clients)?;
    save(&reg, table, clients)?;
    let _ = writeln!(
        out,
        "added client `{}` with scopes: {}{}",
        client.client_id,
        client.scopes.join(" "),
        if client.own_referrals_only {
            " (own referrals' Tasks only)"
        } else {
            ""
        }
    );
    if let Registry::ConfigFile(p) = reg {
        let _ = writeln!(
            out,
            "note: {} was rewritten (comments are not kept); auth.clients_file avoids that",
            p.display()
        );
    }
    Ok(())
}

pub fn clients_remove(
    settings: &Settings,
    config: Option<&Path>,
    client_id: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), AuthCliError> {
    let reg = registry(settings, config)?;
    let (table, mut clients) = load(&reg)?;
    let before = clients.len();
    clients.retain(|c| c.client_id != client_id);
    if clients.len() == before {
        return Err(AuthCliError::Usage(format!(
            "client `{client_id}` is not registered there"
        )));
    }
    save(&reg, table, clients)?;
    let _ = writeln!(out, "removed client `{client_id}`");
    Ok(())
}

pub fn clients_list(settings: &Settings, out: &mut dyn std::io::Write) -> Result<(), AuthCliError> {
    let mut all: Vec<(ClientSettings, &str)> = settings
        .auth
        .clients
        .iter()
        .map(|c| (c.clone(), "config"))
        .collect();
    if !settings.auth.clients_file.is_empty() && Path::new(&settings.auth.clients_file).exists() {
        all.extend(
            read_clients_file(&settings.auth.clients_file)?
                .clients
                .into_iter()
                .map(|c| (c, "clients_file")),
        );
    }
    if all.is_empty() {
        let _ = writeln!(out, "no clients registered");
    }
    for (c, origin) in all {
        let keys = if c.jwks_file.is_empty() {
            "inline JWKS".to_string()
        } else {
            format!("JWKS file {}", c.jwks_file)
        };
        let own = if c.own_referrals_only {
            "\town referrals only"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{}\t{}\t{keys}\t({origin}){own}",
            c.client_id,
            c.scopes.join(" ")
        );
    }
    Ok(())
}

/// Writes a new EC P-384 private key (mode 0600, never overwriting) and prints its public JWKS.
pub fn keys_generate(out_file: &Path, out: &mut dyn std::io::Write) -> Result<(), AuthCliError> {
    let pem = generate_pem()?;
    let key = GatewayKey::from_pem(&pem)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(out_file)
        .map_err(|e| file_error(out_file, e))?;
    std::io::Write::write_all(&mut file, pem.as_bytes()).map_err(|e| file_error(out_file, e))?;
    let jwks = json!({ "keys": [key.public_jwk] });
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&jwks).unwrap_or_default()
    );
    Ok(())
}

pub struct AssertionArgs {
    pub client_id: String,
    pub key_file: PathBuf,
    pub aud: String,
    pub kid: Option<String>,
    pub lifetime_secs: i64,
}

/// A signed client assertion, ready for `client_assertion=` at the token endpoint.
pub fn assertion(args: &AssertionArgs) -> Result<String, AuthCliError> {
    if !(1..=MAX_LIFETIME_SECS).contains(&args.lifetime_secs) {
        return Err(AuthCliError::Usage(format!(
            "--lifetime-secs must be 1..={MAX_LIFETIME_SECS}"
        )));
    }
    let pem = std::fs::read_to_string(&args.key_file).map_err(|e| file_error(&args.key_file, e))?;
    let der = pem_to_der(&pem)?;
    let rng = SystemRandom::new();
    let (alg, key) =
        if EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &der, &rng).is_ok() {
            (
                jsonwebtoken::Algorithm::ES384,
                jsonwebtoken::EncodingKey::from_ec_der(&der),
            )
        } else if RsaKeyPair::from_pkcs8(&der).is_ok() {
            (
                jsonwebtoken::Algorithm::RS384,
                // from_rsa_der wants PKCS#1; the PEM path reads PKCS#8 too
                jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| AuthCliError::Usage(format!("the RSA key: {e}")))?,
            )
        } else {
            return Err(AuthCliError::Usage(
                "the key is neither an EC P-384 nor an RSA PKCS#8 private key".into(),
            ));
        };
    let now = now_millis() / 1000;
    let claims = json!({
        "iss": args.client_id, "sub": args.client_id, "aud": args.aud,
        "exp": now + args.lifetime_secs, "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = args.kid.clone();
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| AuthCliError::Usage(format!("cannot sign: {e}")))
}
