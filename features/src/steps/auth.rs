//! Authentication as documented: the test user gets a token; the protected API refuses a
//! missing, forged or expired token with the documented status and code and accepts a valid one.

use cucumber::{given, then};
use shakedown_smoke::http::{Probe, accepted_check, refused_check};

use crate::result::{StepError, StepResult};
use crate::world::AcceptWorld;

#[given(regex = r"^the test user has signed in$")]
async fn signed_in(world: &mut AcceptWorld) -> StepResult {
    world.token().await.map(|_| ())
}

#[then(
    regex = r#"^the protected API refuses (no token|a forged token|an expired token) with (\d{3})(?: "([^"]+)")?$"#
)]
async fn refuses(world: &mut AcceptWorld, probe: String, status: u16, code: String) -> StepResult {
    let mut auth = world
        .facts()?
        .auth
        .clone()
        .ok_or_else(|| StepError::Usage(format!("{} documents no auth", world.system)))?;
    if status != 401 {
        return Err(StepError::Usage(format!(
            "the refusal probes check 401 (the runbooks' code for a bad token), not {status}"
        )));
    }
    if !code.is_empty() {
        auth.unauthorized_code = Some(code);
    }
    let probe = match probe.as_str() {
        "no token" => Probe::NoToken,
        "a forged token" => Probe::Forged,
        _ => Probe::Expired,
    };
    let system = world.system.clone();
    AcceptWorld::outcome(refused_check(world.ctx()?, &system, &auth, probe).await)
}

#[then(regex = r"^the protected API accepts the test user's token$")]
async fn accepts(world: &mut AcceptWorld) -> StepResult {
    let auth = world
        .facts()?
        .auth
        .clone()
        .ok_or_else(|| StepError::Usage(format!("{} documents no auth", world.system)))?;
    let system = world.system.clone();
    AcceptWorld::outcome(accepted_check(world.ctx()?, &system, &auth).await)
}
