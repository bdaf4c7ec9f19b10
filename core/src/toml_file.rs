//! Reading TOML files into strict serde types, with errors that name the file, the line,
//! the column and the dotted key.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::ConfigError;

/// Read and parse `path`.
pub fn parse<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_str(path, &text)
}

/// Parse `text` as if read from `path` (the path is used in errors only).
pub fn parse_str<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| to_error(path, text, "(document)", &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." {
            "(document)".to_owned()
        } else {
            key
        };
        to_error(path, text, &key, e.inner())
    })
}

fn to_error(path: &Path, text: &str, key: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e
        .span()
        .map(|span| line_col(text, span.start))
        .unwrap_or((1, 1));
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        key: key.to_owned(),
        message: e.message().trim().to_owned(),
    }
}

/// The stems of the `*.toml` files in `dir`, sorted (profile and runbook names).
pub fn stems(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "toml")
                .then(|| path.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .collect();
    names.sort();
    names
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Doc {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Inner {
        #[allow(dead_code)]
        max_users: u32,
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let text = "name = \"x\"\n[inner]\nmax-users = 3\nmax-usrs = 4\n";
        let err = parse_str::<Doc>(Path::new("p.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("p.toml:4:"), "{msg}");
        assert!(msg.contains("max-usrs"), "{msg}");
    }

    #[test]
    fn wrong_type_names_line_and_dotted_key() {
        let text = "name = \"x\"\n[inner]\nmax-users = \"many\"\n";
        let err = parse_str::<Doc>(Path::new("p.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("p.toml:3:"), "{msg}");
        assert!(msg.contains("inner.max-users"), "{msg}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = parse_str::<Doc>(Path::new("p.toml"), "name = \n").unwrap_err();
        assert!(err.to_string().starts_with("p.toml:1:"), "{err}");
    }
}
