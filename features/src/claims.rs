//! The claims inventory: every promise of the seed runbooks, one entry each, written by hand
//! from the seeds into `fixtures/claims/<system>.toml` — testable (with the observable a
//! harness verifies) or not (with the reason). Scenarios point at claims with `@claim(id)`;
//! [`Coverage`] says which testable claims no scenario checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shakedown_core::error::ConfigError;
use shakedown_core::runbook::RunbookRef;
use shakedown_core::toml_file;

/// One system's claims file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClaimsFile {
    pub system: String,
    pub seed: String,
    #[serde(rename = "claim")]
    pub claims: Vec<Claim>,
}

/// One promise of a runbook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Claim {
    /// `<seed>-<document>-<section>`, e.g. `001-rollback-3.2`.
    pub id: String,
    /// The line of the seed where it is stated.
    pub line: usize,
    pub section: String,
    /// The promise, in one line.
    pub claim: String,
    pub testable: bool,
    /// What a harness observes to verify it (testable claims).
    #[serde(default)]
    pub check: Option<String>,
    /// Why it cannot be checked (untestable claims).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A claim with the system and seed it belongs to.
#[derive(Debug, Clone)]
pub struct Located {
    pub system: String,
    pub seed: String,
    pub claim: Claim,
}

impl Located {
    /// Where the claim comes from, for events and reports.
    pub fn runbook(&self) -> RunbookRef {
        RunbookRef {
            seed: self.seed.clone(),
            section: format!("{} (line {})", self.claim.section, self.claim.line),
        }
    }
}

/// Every claim of every system, by id.
#[derive(Debug, Clone, Default)]
pub struct Claims {
    pub by_id: BTreeMap<String, Located>,
    /// Systems in file order, each with its claim ids in file order.
    pub systems: BTreeMap<String, Vec<String>>,
}

/// The claims directory of a fixtures directory.
pub fn claims_dir(fixtures: &Path) -> PathBuf {
    fixtures.join("claims")
}

impl Claims {
    /// Load and validate `fixtures/claims/*.toml`: ids well formed and unique across files,
    /// `check` on every testable claim, `reason` on every other, file name = system.
    pub fn load(fixtures: &Path) -> Result<Self, ConfigError> {
        let dir = claims_dir(fixtures);
        let mut claims = Claims::default();
        let id_shape =
            regex::Regex::new(r"^[0-9]{3}-[0-9a-z.-]+$").map_err(|e| ConfigError::Invalid {
                what: "claim id pattern".into(),
                message: e.to_string(),
            })?;
        for stem in toml_file::stems(&dir) {
            let path = dir.join(format!("{stem}.toml"));
            let file: ClaimsFile = toml_file::parse(&path)?;
            let invalid = |message: String| ConfigError::Invalid {
                what: path.display().to_string(),
                message,
            };
            if file.system != stem {
                return Err(invalid(format!(
                    "system `{}` does not match the file name `{stem}`",
                    file.system
                )));
            }
            let mut ids = Vec::new();
            for claim in file.claims {
                if !id_shape.is_match(&claim.id) {
                    return Err(invalid(format!(
                        "claim id `{}` is not `<seed>-<document>-<section>` in [0-9a-z.-]",
                        claim.id
                    )));
                }
                match (claim.testable, &claim.check, &claim.reason) {
                    (true, Some(_), None) | (false, None, Some(_)) => {}
                    (true, _, _) => {
                        return Err(invalid(format!(
                            "claim `{}` is testable: it needs `check` and no `reason`",
                            claim.id
                        )));
                    }
                    (false, _, _) => {
                        return Err(invalid(format!(
                            "claim `{}` is not testable: it needs `reason` and no `check`",
                            claim.id
                        )));
                    }
                }
                if let Some(other) = claims.by_id.get(&claim.id) {
                    return Err(invalid(format!(
                        "claim id `{}` is also used by {}",
                        claim.id, other.system
                    )));
                }
                ids.push(claim.id.clone());
                claims.by_id.insert(
                    claim.id.clone(),
                    Located {
                        system: file.system.clone(),
                        seed: file.seed.clone(),
                        claim,
                    },
                );
            }
            claims.systems.insert(file.system, ids);
        }
        if claims.systems.is_empty() {
            return Err(ConfigError::Invalid {
                what: dir.display().to_string(),
                message: "no claims files".into(),
            });
        }
        Ok(claims)
    }

    pub fn get(&self, id: &str) -> Option<&Located> {
        self.by_id.get(id)
    }
}

/// Where a claim stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Checked by these scenarios (`feature:line name`).
    Covered(Vec<String>),
    Uncovered,
    Untestable(String),
}

/// The claims matrix: each claim's status, plus tags that point at nothing.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// system → (claim id, status), in claims-file order.
    pub systems: BTreeMap<String, Vec<(String, Status)>>,
    /// Problems that make the inventory and the scenarios disagree (exit 2).
    pub problems: Vec<String>,
}

impl Coverage {
    /// Cross `claims` with the scenarios' `@claim` tags (`references`: claim id → scenarios).
    pub fn new(claims: &Claims, references: &BTreeMap<String, Vec<String>>) -> Self {
        let mut problems = Vec::new();
        for (id, scenarios) in references {
            match claims.get(id) {
                None => problems.push(format!(
                    "@claim({id}) names no claim (used by {})",
                    scenarios.join(", ")
                )),
                Some(c) if !c.claim.testable => problems.push(format!(
                    "@claim({id}) names a claim marked untestable ({}); used by {}",
                    c.claim.reason.as_deref().unwrap_or(""),
                    scenarios.join(", ")
                )),
                Some(_) => {}
            }
        }
        let systems = claims
            .systems
            .iter()
            .map(|(system, ids)| {
                let rows = ids
                    .iter()
                    .filter_map(|id| claims.get(id).map(|c| (id, c)))
                    .map(|(id, c)| {
                        let status = if !c.claim.testable {
                            Status::Untestable(c.claim.reason.clone().unwrap_or_default())
                        } else if let Some(s) = references.get(id) {
                            Status::Covered(s.clone())
                        } else {
                            Status::Uncovered
                        };
                        (id.clone(), status)
                    })
                    .collect();
                (system.clone(), rows)
            })
            .collect();
        Self { systems, problems }
    }

    /// (covered, uncovered, untestable) for one system.
    pub fn counts(&self, system: &str) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for (_, s) in self.systems.get(system).into_iter().flatten() {
            match s {
                Status::Covered(_) => n.0 += 1,
                Status::Uncovered => n.1 += 1,
                Status::Untestable(_) => n.2 += 1,
            }
        }
        n
    }

    pub fn uncovered(&self) -> usize {
        self.systems.keys().map(|s| self.counts(s).1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inventory_loads_and_every_system_of_the_local_profile_has_claims() {
        let fixtures = shakedown_core::fixtures_dir();
        let claims = Claims::load(&fixtures).unwrap();
        for system in [
            "plot-palette",
            "site-builder",
            "energy-insights",
            "styling-adventures",
            "sergas",
        ] {
            let ids = claims.systems.get(system).expect(system);
            assert!(ids.len() >= 10, "{system}: only {} claims", ids.len());
        }
    }

    fn claims_with(testable: &[&str], untestable: &[&str]) -> Claims {
        let mut claims = Claims::default();
        let mut ids = Vec::new();
        for (id, t) in testable
            .iter()
            .map(|i| (i, true))
            .chain(untestable.iter().map(|i| (i, false)))
        {
            ids.push((*id).to_owned());
            claims.by_id.insert(
                (*id).to_owned(),
                Located {
                    system: "s".into(),
                    seed: "000.txt".into(),
                    claim: Claim {
                        id: (*id).to_owned(),
                        line: 1,
                        section: "§1".into(),
                        claim: "it holds".into(),
                        testable: t,
                        check: t.then(|| "look".to_owned()),
                        reason: (!t).then(|| "human".to_owned()),
                    },
                },
            );
        }
        claims.systems.insert("s".into(), ids);
        claims
    }

    #[test]
    fn coverage_counts_and_flags_dangling_and_untestable_references() {
        let claims = claims_with(&["000-a", "000-b"], &["000-c"]);
        let mut refs = BTreeMap::new();
        refs.insert("000-a".to_owned(), vec!["f:1 A".to_owned()]);
        let cov = Coverage::new(&claims, &refs);
        assert_eq!(cov.counts("s"), (1, 1, 1));
        assert_eq!(cov.uncovered(), 1);
        assert!(cov.problems.is_empty());

        refs.insert("000-zzz".to_owned(), vec!["f:2 B".to_owned()]);
        refs.insert("000-c".to_owned(), vec!["f:3 C".to_owned()]);
        let cov = Coverage::new(&claims, &refs);
        assert_eq!(cov.problems.len(), 2, "{:?}", cov.problems);
        assert!(cov.problems[0].contains("000-c") || cov.problems[1].contains("000-c"));
        assert!(cov.problems.iter().any(|p| p.contains("names no claim")));
    }
}
