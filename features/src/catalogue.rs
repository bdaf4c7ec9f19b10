//! The scenario catalogue: every `.feature` under `features/<system>/`, parsed once before
//! anything runs, so that a scenario without its safety tag, a `@claim` naming nothing or a
//! feature outside a known system stops the run with `file:line` (exit 2), and so that tier
//! policy decides per scenario — refusals are reported, never silently skipped.

use std::path::{Path, PathBuf};

use cucumber::gherkin::{self, GherkinEnv, tagexpr::TagOperation};
use cucumber::tag::Ext as _;
use shakedown_core::tier::{Decision, Effect, Overrides, Tier, decide};

use crate::claims::Claims;

/// The three safety tags; every scenario carries exactly one.
pub const SAFETY_TAGS: [(&str, Effect); 3] = [
    ("readonly", Effect::Read),
    ("mutating", Effect::Mutate),
    ("destructive", Effect::Destroy),
];

/// One scenario (an outline counts once) and what its tags say.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    pub system: String,
    /// The feature file, relative to the features root.
    pub feature: PathBuf,
    pub line: usize,
    pub name: String,
    /// Feature, rule, scenario and examples tags, without `@`.
    pub tags: Vec<String>,
    pub effect: Effect,
    pub claims: Vec<String>,
}

impl ScenarioInfo {
    /// `site-builder/rollback.feature:12 Lambda-only rollback`
    pub fn locator(&self) -> String {
        format!("{}:{} {}", self.feature.display(), self.line, self.name)
    }
}

/// Every scenario under a features root.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub root: PathBuf,
    pub scenarios: Vec<ScenarioInfo>,
}

/// The features root of the workspace (`features/`, beside this crate's `src/`).
pub fn default_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The system a feature file belongs to: the name of its folder.
pub fn system_of(path: &Path) -> Option<String> {
    path.parent()?.file_name()?.to_str().map(str::to_owned)
}

/// The tags in effect for a scenario (cucumber's expansion adds the examples' tags).
pub fn effective_tags(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> Vec<String> {
    let mut tags = feature.tags.clone();
    if let Some(r) = rule {
        tags.extend(r.tags.iter().cloned());
    }
    tags.extend(scenario.tags.iter().cloned());
    for ex in &scenario.examples {
        tags.extend(ex.tags.iter().cloned());
    }
    tags
}

/// The one safety tag's effect, or why there is not exactly one.
pub fn effect_of(tags: &[String]) -> Result<Effect, String> {
    let found: Vec<(&str, Effect)> = SAFETY_TAGS
        .iter()
        .copied()
        .filter(|(t, _)| tags.iter().any(|x| x == t))
        .collect();
    match found.as_slice() {
        [(_, e)] => Ok(*e),
        [] => Err("has no safety tag: tag it @readonly, @mutating or @destructive".into()),
        many => Err(format!(
            "has {} safety tags ({}): exactly one of @readonly, @mutating, @destructive",
            many.len(),
            many.iter()
                .map(|(t, _)| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

/// The claim ids of `@claim(id)` tags.
pub fn claims_of(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("claim(")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

impl Catalogue {
    /// Parse every `<root>/<system>/*.feature` and validate it against the claims.
    /// Returns every problem found (each with `file:line`), not just the first.
    pub fn load(root: &Path, claims: &Claims) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut scenarios = Vec::new();
        let mut files = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| vec![format!("{}: {e}", root.display())])?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "feature"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        }
        for path in files {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let Some(system) = system_of(&path) else {
                continue;
            };
            if !claims.systems.contains_key(&system) {
                problems.push(format!(
                    "{}: folder `{system}` is not a system with a claims file (fixtures/claims/{system}.toml)",
                    rel.display()
                ));
                continue;
            }
            let feature = match gherkin::Feature::parse_path(&path, GherkinEnv::default()) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{}: {e}", rel.display()));
                    continue;
                }
            };
            let in_rules = feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
            for (rule, sc) in feature.scenarios.iter().map(|s| (None, s)).chain(in_rules) {
                let tags = effective_tags(&feature, rule, sc);
                let at = format!("{}:{}", rel.display(), sc.position.line);
                let effect = match effect_of(&tags) {
                    Ok(e) => e,
                    Err(why) => {
                        problems.push(format!("{at}: scenario `{}` {why}", sc.name));
                        continue;
                    }
                };
                let ids = claims_of(&tags);
                if ids.is_empty() {
                    problems.push(format!(
                        "{at}: scenario `{}` names no claim: tag it @claim(<id>) from fixtures/claims/{system}.toml",
                        sc.name
                    ));
                }
                for id in &ids {
                    match claims.get(id) {
                        None => problems.push(format!(
                            "{at}: @claim({id}) names no claim in fixtures/claims/"
                        )),
                        Some(c) if !c.claim.testable => problems.push(format!(
                            "{at}: @claim({id}) is marked untestable in fixtures/claims/{}.toml",
                            c.system
                        )),
                        Some(_) => {}
                    }
                }
                scenarios.push(ScenarioInfo {
                    system: system.clone(),
                    feature: rel.clone(),
                    line: sc.position.line,
                    name: sc.name.clone(),
                    tags,
                    effect,
                    claims: ids,
                });
            }
        }
        if problems.is_empty() {
            Ok(Self {
                root: root.to_path_buf(),
                scenarios,
            })
        } else {
            Err(problems)
        }
    }

    /// claim id → the scenarios that reference it.
    pub fn references(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut refs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for s in &self.scenarios {
            for id in &s.claims {
                refs.entry(id.clone()).or_default().push(s.locator());
            }
        }
        refs
    }
}

/// What the run does with one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Not selected by the tag expression or the system filter.
    Excluded,
    Run,
    /// Selected, but tier policy refuses it.
    Refused(String),
}

/// The run's selection: a tag expression, the profile's systems and tier policy.
#[derive(Debug, Clone)]
pub struct Selection {
    pub tags: Option<TagOperation>,
    /// Systems the profile configures; scenarios of other systems are excluded.
    pub systems: Vec<String>,
    /// When not empty, only the scenarios tagged `@claim(id)` with one of these ids.
    pub claims: Vec<String>,
    pub tier: Tier,
    pub overrides: Overrides,
}

impl Selection {
    pub fn choose(&self, system: &str, tags: &[String]) -> Choice {
        if !self.systems.iter().any(|s| s == system) {
            return Choice::Excluded;
        }
        if !self.claims.is_empty()
            && !tags.iter().any(|t| {
                t.strip_prefix("claim(")
                    .and_then(|t| t.strip_suffix(')'))
                    .is_some_and(|id| self.claims.iter().any(|c| c == id))
            })
        {
            return Choice::Excluded;
        }
        if let Some(expr) = &self.tags
            && !expr.eval(tags.iter())
        {
            return Choice::Excluded;
        }
        let effect = match effect_of(tags) {
            Ok(e) => e,
            Err(why) => return Choice::Refused(format!("scenario {why}")),
        };
        match decide(self.tier, effect, self.overrides) {
            Decision::Allow => Choice::Run,
            Decision::Refuse(r) => Choice::Refused(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exactly_one_safety_tag() {
        assert_eq!(effect_of(&tags(&["readonly", "x"])), Ok(Effect::Read));
        assert_eq!(effect_of(&tags(&["destructive"])), Ok(Effect::Destroy));
        assert!(
            effect_of(&tags(&["x"]))
                .unwrap_err()
                .contains("no safety tag")
        );
        assert!(
            effect_of(&tags(&["readonly", "mutating"]))
                .unwrap_err()
                .contains("2 safety tags")
        );
    }

    #[test]
    fn claim_tags_are_read() {
        assert_eq!(
            claims_of(&tags(&["claim(001-rollback-3.2)", "serial", "claim(x)"])),
            vec!["001-rollback-3.2".to_owned(), "x".to_owned()]
        );
    }

    #[test]
    fn prod_runs_readonly_and_refuses_the_rest_unless_overridden() {
        let mut sel = Selection {
            tags: None,
            systems: vec!["s".into()],
            claims: vec![],
            tier: Tier::Prod,
            overrides: Overrides::default(),
        };
        assert_eq!(sel.choose("s", &tags(&["readonly"])), Choice::Run);
        assert!(matches!(
            sel.choose("s", &tags(&["mutating"])),
            Choice::Refused(_)
        ));
        assert!(matches!(
            sel.choose("s", &tags(&["destructive"])),
            Choice::Refused(_)
        ));
        assert_eq!(sel.choose("other", &tags(&["readonly"])), Choice::Excluded);
        sel.overrides.allow_mutation_on_prod = true;
        assert_eq!(sel.choose("s", &tags(&["mutating"])), Choice::Run);
    }

    #[test]
    fn tag_expressions_select() {
        let sel = Selection {
            tags: Some("@gate and not @slow".parse().unwrap()),
            systems: vec!["s".into()],
            claims: vec![],
            tier: Tier::Local,
            overrides: Overrides::default(),
        };
        assert_eq!(sel.choose("s", &tags(&["gate", "readonly"])), Choice::Run);
        assert_eq!(
            sel.choose("s", &tags(&["gate", "slow", "readonly"])),
            Choice::Excluded
        );
        assert_eq!(sel.choose("s", &tags(&["readonly"])), Choice::Excluded);
    }

    #[test]
    fn the_workspace_features_are_valid_against_the_claims() {
        let claims = Claims::load(&shakedown_core::fixtures_dir()).unwrap();
        let cat = Catalogue::load(&default_root(), &claims)
            .unwrap_or_else(|problems| panic!("{}", problems.join("\n")));
        assert!(!cat.scenarios.is_empty());
    }

    #[test]
    fn claims_select_the_scenarios_guarding_them() {
        let sel = Selection {
            tags: None,
            systems: vec!["s".into()],
            claims: vec!["001-a".into()],
            tier: Tier::Local,
            overrides: Overrides::default(),
        };
        assert_eq!(
            sel.choose("s", &tags(&["readonly", "claim(001-a)"])),
            Choice::Run
        );
        assert_eq!(
            sel.choose("s", &tags(&["readonly", "claim(001-ab)"])),
            Choice::Excluded
        );
        assert_eq!(sel.choose("s", &tags(&["readonly"])), Choice::Excluded);
    }
}
