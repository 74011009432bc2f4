//! `HBPC_<SECTION>_<KEY>` environment overrides, typed by the default value they replace.
//! `HBPC_CONFIG` (the config file path) and `HBPC_TEST_*` (test harness) are not settings.

use super::ConfigError;

pub fn apply(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix("HBPC_") else {
            continue;
        };
        if rest == "CONFIG" || rest.starts_with("TEST_") {
            continue;
        }
        let name = rest.to_ascii_lowercase();
        let sections = section_names(table);
        let unknown = || ConfigError::Env {
            var: var.clone(),
            message: format!("not a known setting (known sections: {sections})"),
        };
        let (section, key) = table
            .keys()
            .find_map(|s| {
                name.strip_prefix(s.as_str())
                    .and_then(|r| r.strip_prefix('_'))
                    .map(|k| (s.clone(), k.to_string()))
            })
            .ok_or_else(unknown)?;
        let Some(toml::Value::Table(fields)) = table.get_mut(&section) else {
            return Err(unknown());
        };
        let current = fields.get(&key).ok_or_else(unknown)?;
        let value = typed_like(current, &raw).map_err(|expected| ConfigError::Env {
            var: var.clone(),
            message: format!("expected {expected}, got '{raw}'"),
        })?;
        fields.insert(key, value);
    }
    Ok(())
}

fn section_names(table: &toml::Table) -> String {
    table.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn typed_like(current: &toml::Value, raw: &str) -> Result<toml::Value, &'static str> {
    Ok(match current {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| "an integer")?)
        }
        toml::Value::Float(_) => toml::Value::Float(raw.trim().parse().map_err(|_| "a number")?),
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err("true or false"),
        }),
        toml::Value::Array(_) => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
        _ => toml::Value::String(raw.to_string()),
    })
}
