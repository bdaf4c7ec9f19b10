//! The documented end-to-end procedures, as the smoke suite runs them: health with its schema,
//! security headers, CORS, the Site Builder generation stream, the Plot Palette post-deploy
//! flow (job → export → data quality → checkpoint), Sergas pagination and RBAC.

use std::collections::BTreeMap;
use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{given, then};
use shakedown_core::runbook::{Cors, Pagination, Rbac, SecurityHeaders};
use shakedown_smoke::{http, plot_palette, sergas, site_builder};

use crate::result::{StepError, StepResult};
use crate::world::AcceptWorld;

#[then(regex = r"^the health endpoint answers healthy with the documented schema$")]
async fn health(world: &mut AcceptWorld) -> StepResult {
    let h = world.facts()?.health.clone();
    let system = world.system.clone();
    AcceptWorld::outcome(http::health_check(world.ctx()?, &system, &h).await)
}

/// `Given within 30 s, the health endpoint answers healthy with the documented schema`: a
/// measurement's warm-up — it starts from a system seen healthy, asking once a second.
#[given(
    regex = r"^within (\d+) s, the health endpoint answers healthy with the documented schema$"
)]
async fn health_within(world: &mut AcceptWorld, seconds: u64) -> StepResult {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let result = health(world).await;
        if result.is_ok() || tokio::time::Instant::now() >= deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[then(regex = r#"^responses of "([^"]+)" carry the security headers:$"#)]
async fn security_headers(world: &mut AcceptWorld, step: &Step, path: String) -> StepResult {
    let table = step
        .table()
        .ok_or_else(|| StepError::Usage("this step needs a | header | value | table".into()))?;
    let headers: BTreeMap<String, String> = table
        .rows
        .iter()
        .skip(1)
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone())))
        .collect();
    let h = SecurityHeaders {
        section: String::new(),
        path: world.render(&path)?,
        headers,
    };
    let system = world.system.clone();
    AcceptWorld::outcome(http::security_headers_check(world.ctx()?, &system, &h).await)
}

#[then(regex = r#"^CORS on "([^"]+)" allows only "([^"]+)", not "([^"]+)"$"#)]
async fn cors(
    world: &mut AcceptWorld,
    path: String,
    allowed: String,
    denied: String,
) -> StepResult {
    let c = Cors {
        section: String::new(),
        path: world.render(&path)?,
        allowed_origin: allowed,
        denied_origin: denied,
    };
    let system = world.system.clone();
    AcceptWorld::outcome(http::cors_check(world.ctx()?, &system, &c).await)
}

#[then(
    regex = r#"^a generation on "([^"]+)" streams progress, chunk and complete events with generationId and brandScore within (\d+) s$"#
)]
async fn generation(world: &mut AcceptWorld, path: String, seconds: u64) -> StepResult {
    let auth = world
        .facts()?
        .auth
        .clone()
        .ok_or_else(|| StepError::Usage("site-builder documents auth".into()))?;
    let g = site_builder::Generation {
        path: world.render(&path)?,
        auth,
        ttlt: Duration::from_secs(seconds),
    };
    AcceptWorld::outcome(site_builder::generation_check(world.ctx()?, &g).await)
}

#[then(
    regex = r"^the post-deploy flow completes: job, seed upload, completion, export rows that pass the data-quality checks, S3 checkpoint$"
)]
async fn post_deploy_flow(world: &mut AcceptWorld) -> StepResult {
    let facts = world.facts()?.clone();
    let ecs = facts
        .ecs
        .ok_or_else(|| StepError::Usage("the flow needs the documented ECS worker".into()))?;
    let bucket = facts
        .buckets
        .first()
        .ok_or_else(|| StepError::Usage("the flow needs the data bucket".into()))?;
    let flow = plot_palette::Flow {
        data_bucket: bucket.name.clone(),
        checkpoint_prefix: ecs.checkpoint_prefix,
    };
    AcceptWorld::outcome(plot_palette::run_flow(world.ctx()?, &flow).await)
}

#[then(
    regex = r#"^listing "([^"]+)" pages with "([^"]+)" and "([^"]+)" into "([^"]+)" with a "([^"]+)" count$"#
)]
async fn pagination(
    world: &mut AcceptWorld,
    path: String,
    page: String,
    size: String,
    items: String,
    total: String,
) -> StepResult {
    let p = Pagination {
        section: String::new(),
        path: world.render(&path)?,
        page_param: page,
        size_param: size,
        items_field: items,
        total_field: total,
    };
    let system = world.system.clone();
    AcceptWorld::outcome(sergas::pagination_check(world.ctx()?, &system, &p).await)
}

#[then(regex = r#"^the read-only identity is refused a write to "([^"]+)" with (\d{3})$"#)]
async fn rbac(world: &mut AcceptWorld, path: String, status: u16) -> StepResult {
    let mut r: Rbac = world
        .facts()?
        .rbac
        .clone()
        .ok_or_else(|| StepError::Usage(format!("{} documents no RBAC", world.system)))?;
    r.write_path = world.render(&path)?;
    r.denied_status = status;
    let system = world.system.clone();
    AcceptWorld::outcome(sergas::rbac_check(world.ctx()?, &system, &r).await)
}
