//! Tier policy: which effects a check may have on which tier. Enforced here, in code, for
//! every suite: prod is read-only unless the operator overrides it explicitly on the command
//! line, and destructive checks are refused above dev without their own override.

use serde::{Deserialize, Serialize};

/// An environment's tier, lowest to highest risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Local,
    Dev,
    Sit,
    Staging,
    Prod,
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tier::Local => "local",
            Tier::Dev => "dev",
            Tier::Sit => "sit",
            Tier::Staging => "staging",
            Tier::Prod => "prod",
        })
    }
}

/// What running a check does to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Only reads (GETs, Describe* calls, a request the API must refuse).
    Read,
    /// Creates or changes data that a normal user could (a job, a generation).
    Mutate,
    /// Deletes, restores, moves aliases, injects faults.
    Destroy,
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Effect::Read => "read",
            Effect::Mutate => "mutate",
            Effect::Destroy => "destroy",
        })
    }
}

/// Explicit overrides given on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--allow-mutation-on-prod`
    pub allow_mutation_on_prod: bool,
    /// `--allow-destructive`
    pub allow_destructive: bool,
}

/// The policy's answer for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Refuse(String),
}

/// Decide whether a check with `effect` may run on `tier`.
pub fn decide(tier: Tier, effect: Effect, overrides: Overrides) -> Decision {
    match (effect, tier) {
        (Effect::Read, _) => Decision::Allow,
        (Effect::Mutate, Tier::Prod) if !overrides.allow_mutation_on_prod => Decision::Refuse(
            "prod is read-only: this check writes data (override: --allow-mutation-on-prod)"
                .to_owned(),
        ),
        (Effect::Mutate, _) => Decision::Allow,
        (Effect::Destroy, Tier::Local | Tier::Dev) => Decision::Allow,
        (Effect::Destroy, Tier::Prod) if !overrides.allow_mutation_on_prod => Decision::Refuse(
            "prod is read-only: this check is destructive (override: --allow-mutation-on-prod --allow-destructive)"
                .to_owned(),
        ),
        (Effect::Destroy, _) if !overrides.allow_destructive => Decision::Refuse(format!(
            "destructive checks are refused on {tier} (override: --allow-destructive)"
        )),
        (Effect::Destroy, _) => Decision::Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Overrides = Overrides {
        allow_mutation_on_prod: false,
        allow_destructive: false,
    };

    #[test]
    fn reads_run_everywhere() {
        for tier in [Tier::Local, Tier::Dev, Tier::Sit, Tier::Staging, Tier::Prod] {
            assert_eq!(decide(tier, Effect::Read, NONE), Decision::Allow);
        }
    }

    #[test]
    fn prod_refuses_mutation_without_override() {
        assert!(matches!(
            decide(Tier::Prod, Effect::Mutate, NONE),
            Decision::Refuse(r) if r.contains("--allow-mutation-on-prod")
        ));
        let o = Overrides {
            allow_mutation_on_prod: true,
            ..NONE
        };
        assert_eq!(decide(Tier::Prod, Effect::Mutate, o), Decision::Allow);
    }

    #[test]
    fn mutation_is_fine_below_prod() {
        for tier in [Tier::Local, Tier::Dev, Tier::Sit, Tier::Staging] {
            assert_eq!(decide(tier, Effect::Mutate, NONE), Decision::Allow);
        }
    }

    #[test]
    fn destruction_needs_its_own_override_above_dev() {
        assert_eq!(decide(Tier::Local, Effect::Destroy, NONE), Decision::Allow);
        assert_eq!(decide(Tier::Dev, Effect::Destroy, NONE), Decision::Allow);
        assert!(matches!(
            decide(Tier::Sit, Effect::Destroy, NONE),
            Decision::Refuse(_)
        ));
        let d = Overrides {
            allow_destructive: true,
            ..NONE
        };
        assert_eq!(decide(Tier::Staging, Effect::Destroy, d), Decision::Allow);
        // On prod the destructive override alone is not enough.
        assert!(matches!(
            decide(Tier::Prod, Effect::Destroy, d),
            Decision::Refuse(_)
        ));
        let both = Overrides {
            allow_mutation_on_prod: true,
            allow_destructive: true,
        };
        assert_eq!(decide(Tier::Prod, Effect::Destroy, both), Decision::Allow);
    }
}
