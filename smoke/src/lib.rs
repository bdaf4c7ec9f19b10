//! The smoke suite: fast post-deploy checks, one per documented item of each runbook,
//! read-only unless a check declares otherwise (tier policy in core decides whether those run).
//!
//! Checks are built from the runbook facts alone ([`checks`]), so they can be listed without
//! a target; running them needs a [`Ctx`] with the profile's resolved targets.

pub mod aws;
pub mod http;
pub mod plot_palette;
pub mod sergas;
pub mod site_builder;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shakedown_core::check::Check;
use shakedown_core::error::ConfigError;
use shakedown_core::event::Outcome;
use shakedown_core::profile::Profile;
use shakedown_core::runbook::RunbookFacts;
use shakedown_core::target::{Target, Targets};
use shakedown_core::tier::Effect;

/// What running checks needs: the targets and the rendered facts of every system.
#[derive(Debug)]
pub struct Ctx {
    pub targets: Targets,
    pub facts: BTreeMap<String, RunbookFacts>,
}

impl Ctx {
    pub fn new(targets: Targets, facts: BTreeMap<String, RunbookFacts>) -> Self {
        Self { targets, facts }
    }

    /// The target of `system`; every check is built for a system of the profile.
    pub fn target(&self, system: &str) -> Result<&Target, Outcome> {
        self.targets
            .get(system)
            .ok_or_else(|| shakedown_core::check::infra(format!("no target for {system}")))
    }

    /// The target of `system` and the run's token for it. Without a token the check is
    /// skipped, pointing at `<system>/auth/token`, which reports why.
    pub async fn authed(&self, system: &str) -> Result<(&Target, String), Outcome> {
        let target = self.target(system)?;
        let token = target.token().await.map_err(|e| Outcome::Skipped {
            reason: format!("no token ({system}/auth/token failed): {e}"),
        })?;
        Ok((target, token))
    }
}

/// Load and render the runbook facts of every system of a profile.
pub fn load_facts(
    profile: &Profile,
    fixtures: &Path,
) -> Result<BTreeMap<String, RunbookFacts>, ConfigError> {
    profile
        .systems
        .keys()
        .map(|system| Ok((system.clone(), profile.facts(fixtures, system)?)))
        .collect()
}

/// Every smoke check for the systems in `facts`, in a stable order.
pub fn checks(facts: &BTreeMap<String, RunbookFacts>) -> Vec<Check<Ctx>> {
    let mut all = Vec::new();
    for f in facts.values() {
        all.extend(http::checks(f));
        all.extend(aws::checks(f));
        match f.system.as_str() {
            "plot-palette" => all.extend(plot_palette::checks(f)),
            "site-builder" => all.extend(site_builder::checks(f)),
            "sergas" => all.extend(sergas::checks(f)),
            _ => {}
        }
    }
    all
}

/// Build a check whose body takes a clone of `data`.
pub(crate) fn check<D, F, Fut>(
    id: String,
    title: String,
    facts: &RunbookFacts,
    section: &str,
    effect: Effect,
    data: D,
    body: F,
) -> Check<Ctx>
where
    D: Clone + Send + Sync + 'static,
    F: Fn(Arc<Ctx>, D) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    Check::new(
        id,
        title,
        facts.system.clone(),
        facts.at(section),
        effect,
        move |ctx| body(ctx, data.clone()),
    )
    .with_timeout(Duration::from_secs(30))
}

/// The leading name part of a rendered resource name, for stable check ids across
/// environments: `JobsTable-local` stays `JobsTable-local` (ids use rendered names).
pub(crate) fn id(system: &str, parts: &[&str]) -> String {
    let mut id = system.to_owned();
    for p in parts {
        id.push('/');
        id.push_str(p);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_profile_yields_unique_ids_for_every_system() {
        let fixtures = shakedown_core::fixtures_dir();
        let profile = Profile::load_named(&fixtures, "local").unwrap();
        let facts = load_facts(&profile, &fixtures).unwrap();
        let checks = checks(&facts);
        let mut ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "check ids are unique");
        for system in profile.systems.keys() {
            assert!(
                ids.iter().any(|id| id.starts_with(&format!("{system}/"))),
                "{system} has checks"
            );
        }
    }

    #[test]
    fn every_smoke_defect_names_an_existing_check() {
        let fixtures = shakedown_core::fixtures_dir();
        let profile = Profile::load_named(&fixtures, "local").unwrap();
        let facts = load_facts(&profile, &fixtures).unwrap();
        let checks = checks(&facts);
        let catalogue =
            shakedown_core::stack::DefectCatalogue::load(&fixtures.join("defects.toml")).unwrap();
        for defect in catalogue.defects.iter().filter(|d| d.suite == "smoke") {
            for prefix in &defect.caught_by {
                assert!(
                    checks.iter().any(|c| c.id.starts_with(prefix.as_str())),
                    "defect {}: no smoke check id starts with {prefix}",
                    defect.name
                );
            }
        }
    }
}
