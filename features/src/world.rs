//! The cucumber world: one per scenario. It reaches the run's shared context (the profile's
//! targets and rendered runbook facts — the same [`shakedown_smoke::Ctx`] the smoke suite
//! uses), knows which system its feature belongs to, carries what earlier steps observed,
//! and records how to undo what the scenario changed (run by the after-hook).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use shakedown_core::event::Outcome;
use shakedown_core::runbook::{RunbookFacts, render_str};
use shakedown_core::target::{Exchange, Target};
use shakedown_smoke::Ctx;

use crate::result::{StepError, StepResult};

static SHARED: OnceLock<Arc<Ctx>> = OnceLock::new();

/// Give every world of this process the run's context. Once per process.
pub fn install(ctx: Arc<Ctx>) -> Result<(), String> {
    SHARED
        .set(ctx)
        .map_err(|_| "the acceptance context is already installed".to_owned())
}

/// Something a scenario changed, undone after it whatever happened.
#[derive(Debug, Clone)]
pub enum Undo {
    /// Point a Lambda alias back at a version.
    Alias {
        function: String,
        alias: String,
        version: String,
    },
    /// Delete a DynamoDB table the scenario created (a restore target).
    DeleteTable { name: String },
    /// Delete an item the scenario wrote (`key` = `value`, a string key).
    DeleteItem {
        table: String,
        key: String,
        value: String,
    },
    /// Delete a Cognito user the scenario created.
    DeleteUser { pool: String, user: String },
    /// `DELETE path` as the test user, until it answers 404 (a job the scenario created:
    /// the first DELETE of an active job cancels it, the next one deletes it).
    DeleteResource {
        path: String,
        caller: crate::steps::http::Caller,
    },
    /// Give a spent rate limit time to refill before the next scenario.
    Wait { seconds: u64 },
    /// Delete the objects the scenario's requests made under `prefix`.
    DeleteObjects { bucket: String, prefix: String },
    /// Set a CloudWatch alarm back to its former state.
    AlarmState { alarm: String, state: String },
    /// Remove an SNS subscription the scenario made.
    Unsubscribe { arn: String },
    /// Delete an SQS queue the scenario made.
    DeleteQueue { url: String },
    /// Stop an FIS experiment the scenario started (and wait until it has ended).
    StopExperiment { id: String },
    /// Delete an FIS experiment template the scenario made.
    DeleteExperimentTemplate { id: String },
    /// Set a Lambda function's Timeout back.
    FunctionTimeout { function: String, seconds: i32 },
    /// Stop a scratch database a restore drill started and remove its directory.
    StopScratchDatabase { dir: std::path::PathBuf, port: u16 },
    /// Recover a live database a drill lost (when the scenario ended before its recovery).
    RecoverDatabase,
}

/// Every scenario runs holding this lock: shared, or exclusive for `@serial` ones. cucumber
/// 0.23 runs `@serial` scenarios one at a time but beside the concurrent ones; a measurement
/// or a scenario spending a shared rate limit must run alone.
static ISOLATION: std::sync::LazyLock<Arc<tokio::sync::RwLock<()>>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::RwLock::new(())));

/// A scenario's hold on [`ISOLATION`], released when the scenario ends.
#[derive(Debug)]
pub enum Turn {
    Shared(#[allow(dead_code)] tokio::sync::OwnedRwLockReadGuard<()>),
    Exclusive(#[allow(dead_code)] tokio::sync::OwnedRwLockWriteGuard<()>),
}

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct AcceptWorld {
    ctx: Option<Arc<Ctx>>,
    /// The system of the running feature (its folder name).
    pub system: String,
    /// The last HTTP exchange.
    pub response: Option<Exchange>,
    /// The events of the last server-sent event stream.
    pub events: Vec<serde_json::Value>,
    /// Values earlier steps captured (`version`, `restored-table`, …).
    pub saved: BTreeMap<String, String>,
    /// What the after-hook undoes, last first.
    pub undo: Vec<Undo>,
    /// The last probe measurement (`steps::slo`).
    pub measurement: Option<crate::steps::slo::Measurement>,
    /// When the scenario started (Unix ms): log searches start here.
    pub started_ms: i64,
    /// The scenario's turn (see [`ISOLATION`]).
    pub turn: Option<Turn>,
}

impl AcceptWorld {
    fn new() -> Self {
        Self {
            ctx: SHARED.get().cloned(),
            system: String::new(),
            response: None,
            events: Vec::new(),
            saved: BTreeMap::new(),
            undo: Vec::new(),
            measurement: None,
            started_ms: chrono::Utc::now().timestamp_millis(),
            turn: None,
        }
    }

    /// Wait for this scenario's turn: alone when `exclusive` (`@serial`), else beside the
    /// other concurrent scenarios. The scenario's clock starts once it has its turn.
    pub async fn take_turn(&mut self, exclusive: bool) {
        let lock = Arc::clone(&ISOLATION);
        self.turn = Some(if exclusive {
            Turn::Exclusive(lock.write_owned().await)
        } else {
            Turn::Shared(lock.read_owned().await)
        });
        self.started_ms = chrono::Utc::now().timestamp_millis();
    }

    pub fn ctx(&self) -> Result<&Arc<Ctx>, StepError> {
        self.ctx
            .as_ref()
            .ok_or_else(|| StepError::Infra("no acceptance context installed".into()))
    }

    pub fn sdk(&self) -> Result<&aws_config::SdkConfig, StepError> {
        Ok(&self.ctx()?.targets.sdk)
    }

    pub fn target(&self) -> Result<&Target, StepError> {
        self.ctx()?
            .targets
            .get(&self.system)
            .ok_or_else(|| StepError::Infra(format!("the profile has no system {}", self.system)))
    }

    pub fn facts(&self) -> Result<&RunbookFacts, StepError> {
        self.ctx()?
            .facts
            .get(&self.system)
            .ok_or_else(|| StepError::Infra(format!("no runbook facts for {}", self.system)))
    }

    /// Fill `{env}`-style placeholders from the profile's vars for this system, so a
    /// scenario names resources as the runbook does (`site-builder-alerts-{env}`), and
    /// `{key}` placeholders from what earlier steps of the scenario saved.
    /// A step's comma-separated list (`"a-{env}, b-{env}"`), each item trimmed and rendered.
    pub fn render_list(&self, text: &str) -> Result<Vec<String>, StepError> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| self.render(s))
            .collect()
    }

    pub fn render(&self, text: &str) -> Result<String, StepError> {
        let ctx = self.ctx()?;
        let vars = ctx
            .targets
            .profile
            .systems
            .get(&self.system)
            .map(|s| s.vars.clone())
            .unwrap_or_default();
        // What earlier steps saved (`{tenant}`, `{job}`, …) names this scenario's own things.
        let mut vars = vars;
        vars.extend(self.saved.iter().map(|(k, v)| (k.clone(), v.clone())));
        render_str(text, &vars, &self.system).map_err(|e| StepError::Usage(e.to_string()))
    }

    /// The scenario's own tenant, when a step made one (`Given a fresh tenant`): `{tenant}`
    /// and the documented tenant header then name it instead of the profile's tenant.
    pub fn tenant(&self) -> Option<&str> {
        self.saved.get("tenant").map(String::as_str)
    }

    /// The writer identity's token (`auth.writer-client-id`); without one the step is
    /// refused as a usage error naming the missing key.
    pub async fn writer_token(&self) -> Result<String, StepError> {
        self.target()?
            .writer_token()
            .await
            .map_err(|e| StepError::from_token(&e))
    }

    /// The run's bearer token for this system; failing to get one is a failed step.
    pub async fn token(&self) -> Result<String, StepError> {
        self.target()?
            .token()
            .await
            .map_err(|e| StepError::from_token(&e))
    }

    pub fn response(&self) -> Result<&Exchange, StepError> {
        self.response
            .as_ref()
            .ok_or_else(|| StepError::Usage("no request was made before this step".into()))
    }

    /// The value a previous step saved under `key`.
    pub fn saved(&self, key: &str) -> Result<&str, StepError> {
        self.saved
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| StepError::Usage(format!("no earlier step saved `{key}`")))
    }

    /// Run a smoke check body (one implementation of each verification) as a step.
    pub fn outcome(outcome: Outcome) -> StepResult {
        StepError::from_outcome(outcome)
    }
}
