//! API Gateway as the runbooks describe it: a REST API (v1, not an HTTP API) with a deployed
//! stage behind the documented custom domain, the WAF web ACL associated with the stage, and
//! the deployed routes equal to the published OpenAPI document's operations.

use std::collections::BTreeSet;

use cucumber::then;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

fn client(world: &AcceptWorld) -> Result<aws_sdk_apigateway::Client, StepError> {
    Ok(aws_sdk_apigateway::Client::new(world.sdk()?))
}

/// The id of the REST API named `name` (bounded: 10 pages of 500).
async fn rest_api_id(world: &AcceptWorld, name: &str) -> Result<String, StepError> {
    let gw = client(world)?;
    let mut position = None;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let page = gw
            .get_rest_apis()
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!("apigateway GetRestApis: {}", aws_error_text(&e)))
            })?;
        for api in page.items() {
            if api.name() == Some(name) {
                return Ok(api.id().unwrap_or_default().to_owned());
            }
            seen.push(api.name().unwrap_or_default().to_owned());
        }
        position = page.position().map(str::to_owned);
        if position.is_none() {
            break;
        }
    }
    Err(StepError::mismatch(
        format!("a REST API named {name}"),
        if seen.is_empty() {
            "no REST APIs".to_owned()
        } else {
            format!("REST APIs {}", seen.join(", "))
        },
    ))
}

/// `Then the domain "api.dev.kimmyai.io" maps "v1" to a deployed stage of the REST API "N"`
#[then(
    regex = r#"^the domain "([^"]+)" maps "([^"]*)" to a deployed stage of the REST API "([^"]+)"$"#
)]
async fn domain_maps(
    world: &mut AcceptWorld,
    domain: String,
    base_path: String,
    name: String,
) -> StepResult {
    let domain = world.render(&domain)?;
    let name = world.render(&name)?;
    let gw = client(world)?;
    gw.get_domain_name()
        .domain_name(&domain)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("the custom domain {domain}"),
                format!("GetDomainName: {}", aws_error_text(&e)),
            )
        })?;
    let mappings = gw
        .get_base_path_mappings()
        .domain_name(&domain)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("base path mappings of {domain}"),
                format!("GetBasePathMappings: {}", aws_error_text(&e)),
            )
        })?;
    // The mapping with no base path is reported as "(none)".
    let want = if base_path.is_empty() {
        "(none)"
    } else {
        base_path.as_str()
    };
    let listed: Vec<String> = mappings
        .items()
        .iter()
        .map(|m| {
            format!(
                "{} → {}:{}",
                m.base_path().unwrap_or("(none)"),
                m.rest_api_id().unwrap_or_default(),
                m.stage().unwrap_or_default()
            )
        })
        .collect();
    let Some(mapping) = mappings
        .items()
        .iter()
        .find(|m| m.base_path().unwrap_or("(none)") == want)
    else {
        return Err(StepError::mismatch(
            format!("{domain}/{base_path} mapped to the REST API {name}"),
            if listed.is_empty() {
                "no base path mappings".to_owned()
            } else {
                listed.join(", ")
            },
        ));
    };
    let api_id = mapping.rest_api_id().unwrap_or_default().to_owned();
    let stage = mapping.stage().unwrap_or_default().to_owned();
    // GetRestApi finds v1 REST APIs only: an HTTP API (v2) id is not found here.
    let api = gw
        .get_rest_api()
        .rest_api_id(&api_id)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("{domain}/{base_path} → a REST API (v1)"),
                format!("GetRestApi {api_id}: {}", aws_error_text(&e)),
            )
        })?;
    ensure(
        api.name() == Some(name.as_str()),
        format!("{domain}/{base_path} → the REST API {name}"),
        format!("→ {:?} ({api_id})", api.name()),
    )?;
    let deployed = gw
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name(&stage)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("stage {stage} of {name}"),
                format!("GetStage: {}", aws_error_text(&e)),
            )
        })?;
    ensure(
        deployed.deployment_id().is_some_and(|d| !d.is_empty()),
        format!("stage {stage} of {name} has a deployment"),
        "no deploymentId",
    )
}

/// `Then the web ACL "X" is associated with the stage "S" of the REST API "N"`
#[then(
    regex = r#"^the web ACL "([^"]+)" is associated with the stage "([^"]+)" of the REST API "([^"]+)"$"#
)]
async fn waf_associated(
    world: &mut AcceptWorld,
    acl: String,
    stage: String,
    name: String,
) -> StepResult {
    let acl = world.render(&acl)?;
    let stage = world.render(&stage)?;
    let name = world.render(&name)?;
    let api_id = rest_api_id(world, &name).await?;
    let region = world
        .sdk()?
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_default();
    let arn = format!("arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}");
    let out = aws_sdk_wafv2::Client::new(world.sdk()?)
        .get_web_acl_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("a web ACL on {arn}"),
                format!("GetWebACLForResource: {}", aws_error_text(&e)),
            )
        })?;
    let found = out.web_acl().map(|w| w.name().to_owned());
    ensure(
        found.as_deref() == Some(acl.as_str()),
        format!("{acl} protects {name} stage {stage}"),
        match found {
            Some(other) => format!("{other} protects it"),
            None => "no web ACL is associated with the stage".to_owned(),
        },
    )
}

/// `Then the REST API "N" serves exactly the operations of the OpenAPI document at "/openapi.json"`:
/// the deployed routes (GetResources with methods, OPTIONS left out) and the published
/// document's operations are the same set.
#[then(
    regex = r#"^the REST API "([^"]+)" serves exactly the operations of the OpenAPI document at "([^"]+)"$"#
)]
async fn routes_documented(world: &mut AcceptWorld, name: String, path: String) -> StepResult {
    let name = world.render(&name)?;
    let path = world.render(&path)?;
    let api_id = rest_api_id(world, &name).await?;
    let deployed: BTreeSet<String> = methods(world, &api_id)
        .await?
        .into_iter()
        .map(|m| format!("{} {}", m.method, m.path))
        .collect();
    let target = world.target()?;
    let ex = target
        .get(&path, None)
        .await
        .map_err(|e| StepError::Infra(format!("GET {path}: {e}")))?;
    let doc = ex.json().ok_or_else(|| {
        StepError::mismatch(
            format!("{path} is JSON"),
            format!(
                "{} {}",
                ex.status.as_u16(),
                ex.body.chars().take(200).collect::<String>()
            ),
        )
    })?;
    let mut documented = BTreeSet::new();
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (p, item) in paths {
            for method in item.as_object().map(|m| m.keys()).into_iter().flatten() {
                let m = method.to_ascii_uppercase();
                if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&m.as_str()) {
                    documented.insert(format!("{m} {p}"));
                }
            }
        }
    }
    let undocumented: Vec<&String> = deployed.difference(&documented).collect();
    let missing: Vec<&String> = documented.difference(&deployed).collect();
    ensure(
        undocumented.is_empty() && missing.is_empty() && !deployed.is_empty(),
        format!(
            "the {} deployed routes of {name} are the operations of {path}",
            deployed.len()
        ),
        format!(
            "deployed but undocumented: {undocumented:?}; documented but not deployed: {missing:?}"
        ),
    )
}

/// One method of a deployed resource.
struct ApiMethod {
    resource_id: String,
    path: String,
    method: String,
}

/// Every method of the REST API's resources (GetResources with methods, bounded: 10 pages
/// of 500), OPTIONS (CORS preflight) left out.
async fn methods(world: &AcceptWorld, api_id: &str) -> Result<Vec<ApiMethod>, StepError> {
    let gw = client(world)?;
    let mut out = Vec::new();
    let mut position = None;
    for _ in 0..10 {
        let page = gw
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "apigateway GetResources {api_id}: {}",
                    aws_error_text(&e)
                ))
            })?;
        for r in page.items() {
            for method in r.resource_methods().map(|m| m.keys()).into_iter().flatten() {
                if method != "OPTIONS" {
                    out.push(ApiMethod {
                        resource_id: r.id().unwrap_or_default().to_owned(),
                        path: r.path().unwrap_or_default().to_owned(),
                        method: method.clone(),
                    });
                }
            }
        }
        position = page.position().map(str::to_owned);
        if position.is_none() {
            break;
        }
    }
    Ok(out)
}

/// `Then every route of the REST API "N" is integrated with the Lambda function "F"`: each
/// method's integration is a Lambda (proxy) integration whose URI invokes F (or one of its
/// versions or aliases) — API Gateway → Lambda, as the architecture diagram draws it.
#[then(
    regex = r#"^every route of the REST API "([^"]+)" is integrated with the Lambda function "([^"]+)"$"#
)]
async fn routes_integrate_function(
    world: &mut AcceptWorld,
    name: String,
    function: String,
) -> StepResult {
    let name = world.render(&name)?;
    let function = world.render(&function)?;
    let api_id = rest_api_id(world, &name).await?;
    let gw = client(world)?;
    let routes = methods(world, &api_id).await?;
    let mut wrong = Vec::new();
    for m in &routes {
        let out = gw
            .get_integration()
            .rest_api_id(&api_id)
            .resource_id(&m.resource_id)
            .http_method(&m.method)
            .send()
            .await;
        let route = format!("{} {}", m.method, m.path);
        match out {
            Ok(i) => {
                let kind = i
                    .r#type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default();
                let uri = i.uri().unwrap_or_default();
                if !(["AWS_PROXY", "AWS"].contains(&kind.as_str())
                    && invokes_function(uri, &function))
                {
                    wrong.push(format!("{route}: {kind} {uri}"));
                }
            }
            Err(e) => wrong.push(format!("{route}: {}", aws_error_text(&e))),
        }
    }
    ensure(
        wrong.is_empty() && !routes.is_empty(),
        format!(
            "the {} routes of {name} are Lambda integrations of {function}",
            routes.len()
        ),
        if routes.is_empty() {
            "no routes".to_owned()
        } else {
            wrong.join("; ")
        },
    )
}

/// Whether an integration URI (`arn:aws:apigateway:R:lambda:path/2015-03-31/functions/
/// arn:aws:lambda:R:A:function:F[:qualifier]/invocations`) invokes `function`.
fn invokes_function(uri: &str, function: &str) -> bool {
    let Some(rest) = uri
        .split_once(":lambda:path/")
        .and_then(|(_, r)| r.split_once("/functions/"))
        .map(|(_, r)| r)
    else {
        return false;
    };
    let arn = rest.strip_suffix("/invocations").unwrap_or(rest);
    let mut parts = arn.split(':');
    // arn aws lambda region account function NAME [qualifier]
    parts.nth(5) == Some("function") && parts.next() == Some(function)
}

#[cfg(test)]
mod tests {
    use super::invokes_function;

    #[test]
    fn lambda_integration_uris() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:api-dev/invocations";
        assert!(invokes_function(uri, "api-dev"));
        assert!(invokes_function(
            &uri.replace("api-dev/", "api-dev:live/"),
            "api-dev"
        ));
        assert!(!invokes_function(uri, "api"));
        assert!(!invokes_function("http://127.0.0.1:9/jobs", "api-dev"));
    }
}
