//! shakedown's shared library: profiles and runbook facts, tier policy, targets (HTTP with
//! auth, AWS SDK config), checks and their events, reporters, redaction and exit codes.
//! Every suite (smoke, features, load, chaos) builds on it.

pub mod archive;
pub mod aws;
pub mod check;
pub mod cli;
pub mod ec2;
pub mod error;
pub mod event;
pub mod exit;
pub mod ports;
pub mod postgres;
pub mod profile;
pub mod redact;
pub mod redis;
pub mod report;
pub mod runbook;
pub mod stack;
pub mod target;
pub mod tier;
pub mod toml_file;

/// The workspace's `fixtures/` directory (runbooks, environments, defects).
pub fn fixtures_dir() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("SHAKEDOWN_FIXTURES") {
        return dir.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
}

/// Workspace hygiene: `test = false` (set on targets to save a test-mode build and link on
/// CI's 2 cores) must never hide tests someone adds later.
#[cfg(test)]
mod workspace {
    use std::path::Path;

    fn has_tests(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let files: Vec<std::path::PathBuf> = if dir.is_file() {
            vec![dir.to_path_buf()]
        } else {
            walk(dir)
        };
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.contains("#[test]") || text.contains("#[cfg(test)]") || text.contains("::test]")
            {
                found.push(file.display().to_string());
            }
        }
        found
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn targets_without_a_test_build_hold_no_tests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace: toml::Table =
            toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
        let members = workspace["workspace"]["members"].as_array().unwrap();
        let mut hidden = Vec::new();
        let mut checked = 0;
        for member in members {
            let dir = root.join(member.as_str().unwrap());
            let manifest: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
            let lib = manifest.get("lib").into_iter();
            let bins = manifest
                .get("bin")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten();
            for target in lib.chain(bins) {
                if target.get("test").and_then(toml::Value::as_bool) != Some(false) {
                    continue;
                }
                checked += 1;
                let source = match target.get("path").and_then(toml::Value::as_str) {
                    Some(path) => dir.join(path),
                    None => dir.join("src"),
                };
                hidden.extend(has_tests(&source));
            }
        }
        assert!(checked > 0, "no target has test = false; drop this test");
        assert!(
            hidden.is_empty(),
            "tests in targets with `test = false` never run: {hidden:?}"
        );
    }
}
