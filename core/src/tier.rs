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
    /// `--allow-heavy-load`: load above the tier's cap, and any load on prod.
    pub allow_heavy_load: bool,
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

/// How much load a run may put on a tier: virtual users, request rate and duration. Every
/// load run is bounded by one of these; nothing runs unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadBudget {
    pub users: u32,
    /// Requests per second, all users together.
    pub rate_per_s: f64,
    pub duration: std::time::Duration,
}

/// The cap below prod without `--allow-heavy-load` (and on prod with it): a load a shared
/// environment takes without anyone noticing more than a busy afternoon.
pub const SHARED_LOAD_CAP: LoadBudget = LoadBudget {
    users: 50,
    rate_per_s: 50.0,
    duration: std::time::Duration::from_secs(10 * 60),
};

/// The cap on the local stack and, with `--allow-heavy-load`, below prod: still bounded.
pub const HEAVY_LOAD_CAP: LoadBudget = LoadBudget {
    users: 2_000,
    rate_per_s: 5_000.0,
    duration: std::time::Duration::from_secs(60 * 60),
};

/// The load budget on `tier`, or why no load may run there.
pub fn load_budget(tier: Tier, overrides: Overrides) -> Result<LoadBudget, String> {
    match tier {
        Tier::Local => Ok(HEAVY_LOAD_CAP),
        Tier::Prod if !overrides.allow_heavy_load => Err(
            "prod takes no load test without an explicit override (--allow-heavy-load; the shared cap still applies)"
                .to_owned(),
        ),
        Tier::Prod => Ok(SHARED_LOAD_CAP),
        _ if overrides.allow_heavy_load => Ok(HEAVY_LOAD_CAP),
        _ => Ok(SHARED_LOAD_CAP),
    }
}

impl LoadBudget {
    /// Whether `users` at `rate_per_s` for `duration` fits; if not, what is over and the
    /// override that lifts it.
    pub fn admits(
        &self,
        users: u32,
        rate_per_s: f64,
        duration: std::time::Duration,
    ) -> Result<(), String> {
        let mut over = Vec::new();
        if users > self.users {
            over.push(format!("{users} users (cap {})", self.users));
        }
        if rate_per_s > self.rate_per_s {
            over.push(format!(
                "{rate_per_s:.1} requests/s (cap {:.1})",
                self.rate_per_s
            ));
        }
        if duration > self.duration {
            over.push(format!(
                "{} s (cap {} s)",
                duration.as_secs(),
                self.duration.as_secs()
            ));
        }
        if over.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "over the tier's load cap: {} (override: --allow-heavy-load, below prod)",
                over.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Overrides = Overrides {
        allow_mutation_on_prod: false,
        allow_destructive: false,
        allow_heavy_load: false,
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
            ..NONE
        };
        assert_eq!(decide(Tier::Prod, Effect::Destroy, both), Decision::Allow);
    }

    #[test]
    fn load_is_capped_per_tier_and_prod_needs_the_override() {
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(load_budget(Tier::Local, NONE), Ok(HEAVY_LOAD_CAP));
        let sit = load_budget(Tier::Sit, NONE).unwrap();
        assert!(sit.admits(10, 20.0, minute).is_ok());
        let over = sit.admits(500, 200.0, minute).unwrap_err();
        assert!(
            over.contains("500 users") && over.contains("200.0 requests/s"),
            "{over}"
        );
        assert!(over.contains("--allow-heavy-load"), "{over}");
        let heavy = Overrides {
            allow_heavy_load: true,
            ..NONE
        };
        assert!(
            load_budget(Tier::Sit, heavy)
                .unwrap()
                .admits(500, 200.0, minute)
                .is_ok()
        );
        let refused = load_budget(Tier::Prod, NONE).unwrap_err();
        assert!(refused.contains("--allow-heavy-load"), "{refused}");
        // With the override prod still gets the shared cap, never the heavy one.
        assert_eq!(load_budget(Tier::Prod, heavy), Ok(SHARED_LOAD_CAP));
        assert!(
            HEAVY_LOAD_CAP
                .admits(1, 1.0, std::time::Duration::from_secs(2 * 3600))
                .is_err()
        );
    }
}
