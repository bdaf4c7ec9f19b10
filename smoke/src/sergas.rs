//! Sergas checks beyond the shared ones: list pagination works, and RBAC refuses the
//! (read-only) smoke identity a write.

use std::sync::Arc;

use serde_json::Value;
use shakedown_core::check::{Check, fail, infra, pass};
use shakedown_core::event::Outcome;
use shakedown_core::runbook::{Pagination, Rbac, RunbookFacts};
use shakedown_core::tier::Effect;

use crate::http::fail_exchange;
use crate::{Ctx, check, id};

const PAGE_SIZE: usize = 5;

pub(crate) fn checks(f: &RunbookFacts) -> Vec<Check<Ctx>> {
    let mut out = Vec::new();
    if let Some(p) = &f.pagination {
        out.push(check(
            id(&f.system, &["pagination"]),
            format!(
                "{} pages are disjoint and bounded by {}",
                p.path, p.size_param
            ),
            f,
            &p.section,
            Effect::Read,
            (f.system.clone(), p.clone()),
            |ctx, (sys, p)| async move { pagination_check(&ctx, &sys, &p).await },
        ));
    }
    if let Some(r) = &f.rbac {
        // Mutating: if RBAC is broken, the probe really writes.
        out.push(check(
            id(&f.system, &["rbac"]),
            format!(
                "the read-only smoke identity is refused a write to {}",
                r.write_path
            ),
            f,
            &r.section,
            Effect::Mutate,
            (f.system.clone(), r.clone()),
            |ctx, (sys, r)| async move { rbac_check(&ctx, &sys, &r).await },
        ));
    }
    out
}

pub async fn pagination_check(ctx: &Arc<Ctx>, sys: &str, p: &Pagination) -> Outcome {
    let (target, token) = match ctx.authed(sys).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut total = None;
    for page in [1, 2] {
        let url = format!(
            "{}?{}={page}&{}={PAGE_SIZE}",
            p.path, p.page_param, p.size_param
        );
        let ex = match target.get(&url, Some(&token)).await {
            Ok(ex) => ex,
            Err(e) => return infra(e),
        };
        let Some(json) = ex.json().filter(|_| ex.status.is_success()) else {
            return fail_exchange(
                "200 with a JSON page",
                format!("HTTP {}", ex.status.as_u16()),
                &ex,
            );
        };
        let items: Vec<String> = json
            .get(&p.items_field)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Value::to_string).collect())
            .unwrap_or_default();
        if items.len() > PAGE_SIZE {
            return fail_exchange(
                format!("at most {PAGE_SIZE} items per page"),
                format!("{} items", items.len()),
                &ex,
            );
        }
        total = json.get(&p.total_field).and_then(Value::as_u64);
        pages.push(items);
    }
    let Some(total) = total else {
        return fail(
            format!("a `{}` count", p.total_field),
            "no total in the answer",
        );
    };
    if total > PAGE_SIZE as u64 && pages[1].is_empty() {
        return fail(
            format!("page 2 has items ({total} in all, {PAGE_SIZE} per page)"),
            "page 2 is empty",
        );
    }
    if let Some(dup) = pages[1].iter().find(|i| pages[0].contains(i)) {
        return fail(
            "page 2 holds different items from page 1",
            format!("page 2 repeats {dup}"),
        );
    }
    pass(format!(
        "{} + {} items on pages 1–2 of {total}",
        pages[0].len(),
        pages[1].len()
    ))
}

pub async fn rbac_check(ctx: &Arc<Ctx>, sys: &str, r: &Rbac) -> Outcome {
    let (target, token) = match ctx.authed(sys).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let req = target
        .http()
        .post(target.url(&r.write_path))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(r.probe_body.clone());
    match target.send(req).await {
        Ok(ex) if ex.status.as_u16() == r.denied_status => pass(format!(
            "HTTP {} for the read-only identity",
            r.denied_status
        )),
        Ok(ex) => fail_exchange(
            format!(
                "HTTP {} (the smoke identity may not write)",
                r.denied_status
            ),
            format!("HTTP {}", ex.status.as_u16()),
            &ex,
        ),
        Err(e) => infra(e),
    }
}
