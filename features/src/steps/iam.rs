//! IAM least privilege for the roles a system's code runs as (Lambda execution roles, ECS
//! task roles): no statement allows every action, no data action (DynamoDB, S3, Secrets
//! Manager, KMS) on every resource, no administrator managed policy, and data actions reach
//! only the system's documented tables and buckets.

use cucumber::then;
use serde_json::Value;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult};
use crate::world::AcceptWorld;

/// Services whose actions touch data: a wildcard resource on them is over-broad.
const DATA_SERVICES: [&str; 4] = ["dynamodb", "s3", "secretsmanager", "kms"];
/// AWS managed policies that grant (nearly) everything.
const ADMIN_POLICIES: [&str; 2] = ["AdministratorAccess", "PowerUserAccess"];
/// Most managed policies read per role (bounded).
const MAX_ATTACHED: i32 = 20;

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A policy document's statements: IAM allows `Statement` to be one object or a list.
fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// What is over-broad in one policy document. `tables` and `buckets` are the names the
/// role may reach; a DynamoDB or S3 resource naming anything else is reported too.
pub fn policy_problems(
    policy: &str,
    doc: &Value,
    tables: &[String],
    buckets: &[String],
) -> Vec<String> {
    let statements = statements(doc);
    let mut out = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let sid = st
            .get("Sid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_owned);
        let at = format!("{policy} {sid}");
        if st.get("NotAction").is_some() || st.get("NotResource").is_some() {
            out.push(format!("{at}: Allow with NotAction/NotResource"));
            continue;
        }
        let actions = strings(st.get("Action"));
        let resources = strings(st.get("Resource"));
        if actions.iter().any(|a| a == "*" || a == "*:*") {
            out.push(format!("{at}: allows every action"));
            continue;
        }
        let data_actions: Vec<&String> = actions
            .iter()
            .filter(|a| {
                a.split_once(':').is_some_and(|(svc, _)| {
                    DATA_SERVICES.contains(&svc.to_ascii_lowercase().as_str())
                })
            })
            .collect();
        if data_actions.is_empty() {
            continue;
        }
        if resources.iter().any(|r| r == "*") {
            out.push(format!(
                "{at}: {} on every resource",
                data_actions
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        for r in &resources {
            let foreign = if let Some(rest) = r
                .split(":table/")
                .nth(1)
                .filter(|_| r.starts_with("arn:aws:dynamodb:"))
            {
                let name = rest.split('/').next().unwrap_or_default();
                !tables.iter().any(|t| t == name)
            } else if let Some(rest) = r.strip_prefix("arn:aws:s3:::") {
                let name = rest.split('/').next().unwrap_or_default();
                !buckets.iter().any(|b| b == name)
            } else {
                false
            };
            if foreign {
                out.push(format!("{at}: reaches {r}, not one of the system's own"));
            }
        }
    }
    out
}

/// Every policy document of a role (inline and attached managed) by name, and the
/// administrator policies attached to it.
async fn role_documents(
    world: &AcceptWorld,
    role_arn: &str,
) -> Result<(Vec<(String, Value)>, Vec<String>), StepError> {
    let iam = aws_sdk_iam::Client::new(world.sdk()?);
    let role = role_arn.rsplit('/').next().unwrap_or(role_arn).to_owned();
    let infra = |call: &str, e: String| StepError::Infra(format!("iam {call} {role}: {e}"));
    let decode = |text: &str| -> Result<Value, StepError> {
        serde_json::from_str(&urlencoding_decode(text))
            .map_err(|e| StepError::mismatch("a JSON policy document", e.to_string()))
    };
    let mut docs = Vec::new();
    let mut admin = Vec::new();
    let inline = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .map_err(|e| infra("ListRolePolicies", aws_error_text(&e)))?;
    for name in inline.policy_names() {
        let p = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| infra("GetRolePolicy", aws_error_text(&e)))?;
        docs.push((format!("{role}/{name}"), decode(p.policy_document())?));
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .max_items(MAX_ATTACHED)
        .send()
        .await
        .map_err(|e| infra("ListAttachedRolePolicies", aws_error_text(&e)))?;
    for policy in attached.attached_policies() {
        let name = policy.policy_name().unwrap_or_default();
        if ADMIN_POLICIES.contains(&name) {
            admin.push(format!("{role}: {name} attached"));
            continue;
        }
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        let meta = iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| infra("GetPolicy", aws_error_text(&e)))?;
        let Some(version) = meta.policy().and_then(|p| p.default_version_id()) else {
            continue;
        };
        let v = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| infra("GetPolicyVersion", aws_error_text(&e)))?;
        if let Some(text) = v.policy_version().and_then(|p| p.document()) {
            docs.push((format!("{role}/{name}"), decode(text)?));
        }
    }
    Ok((docs, admin))
}

/// Every policy of a role, analysed.
async fn role_problems(
    world: &AcceptWorld,
    role_arn: &str,
    tables: &[String],
    buckets: &[String],
) -> Result<Vec<String>, StepError> {
    let (docs, mut problems) = role_documents(world, role_arn).await?;
    for (name, doc) in &docs {
        problems.extend(policy_problems(name, doc, tables, buckets));
    }
    Ok(problems)
}

/// Whether a document denies DynamoDB calls made without TLS (`Deny` of `dynamodb:*` or `*`
/// on the condition `aws:SecureTransport` = `false`).
pub fn denies_insecure_dynamodb(doc: &Value) -> bool {
    let statements = statements(doc);
    statements.iter().any(|st| {
        let deny = st.get("Effect").and_then(Value::as_str) == Some("Deny");
        let covers = strings(st.get("Action"))
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case("dynamodb:*"));
        let insecure = st
            .pointer("/Condition/Bool/aws:SecureTransport")
            .is_some_and(|v| v.as_str() == Some("false") || v.as_bool() == Some(false));
        deny && covers && insecure
    })
}

/// The distinct roles the functions run as.
async fn function_role_arns(
    world: &AcceptWorld,
    list: &str,
) -> Result<std::collections::BTreeSet<String>, StepError> {
    let mut roles = std::collections::BTreeSet::new();
    for function in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let function = world.render(function)?;
        let config = crate::steps::lambda::configuration(world, &function, None).await?;
        roles.insert(config.role().unwrap_or_default().to_owned());
    }
    Ok(roles)
}

/// IAM returns policy documents URL-encoded (RFC 3986); plain JSON passes unchanged.
fn urlencoding_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn own_resources(world: &AcceptWorld) -> Result<(Vec<String>, Vec<String>), StepError> {
    let facts = world.facts()?;
    Ok((
        facts.tables.iter().map(|t| t.name.clone()).collect(),
        facts.buckets.iter().map(|b| b.name.clone()).collect(),
    ))
}

fn verdict(what: String, roles: usize, problems: Vec<String>) -> StepResult {
    crate::result::ensure(
        problems.is_empty(),
        format!("{what}: least privilege ({roles} roles read)"),
        problems.join("; "),
    )
}

/// `Then the execution roles of the functions "A, B" follow least privilege`
#[then(regex = r#"^the execution roles of the functions "([^"]+)" follow least privilege$"#)]
async fn function_roles(world: &mut AcceptWorld, list: String) -> StepResult {
    let list = world.render(&list)?;
    let (tables, buckets) = own_resources(world)?;
    let roles = function_role_arns(world, &list).await?;
    let mut problems = Vec::new();
    for role in &roles {
        problems.extend(role_problems(world, role, &tables, &buckets).await?);
    }
    verdict(format!("the roles of {list}"), roles.len(), problems)
}

/// `Then the execution roles of the functions "A" deny DynamoDB calls without TLS`
#[then(
    regex = r#"^the execution roles of the functions "([^"]+)" deny DynamoDB calls without TLS$"#
)]
async fn function_roles_tls(world: &mut AcceptWorld, list: String) -> StepResult {
    let list = world.render(&list)?;
    let roles = function_role_arns(world, &list).await?;
    let mut missing = Vec::new();
    for role in &roles {
        let (docs, _) = role_documents(world, role).await?;
        if !docs.iter().any(|(_, d)| denies_insecure_dynamodb(d)) {
            missing.push(role.rsplit('/').next().unwrap_or(role).to_owned());
        }
    }
    crate::result::ensure(
        missing.is_empty() && !roles.is_empty(),
        format!("the roles of {list} deny dynamodb:* when aws:SecureTransport is false"),
        format!("no such Deny in {}", missing.join(", ")),
    )
}

/// The task role ARN of the ECS task definition `family`.
async fn task_role_arn(world: &AcceptWorld, family: &str) -> Result<String, StepError> {
    let ecs = aws_sdk_ecs::Client::new(world.sdk()?);
    let out = ecs
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("DescribeTaskDefinition {family}"),
                aws_error_text(&e),
            )
        })?;
    out.task_definition()
        .and_then(|t| t.task_role_arn())
        .map(str::to_owned)
        .ok_or_else(|| {
            StepError::mismatch(
                format!("{family} runs with its own task role"),
                "no taskRoleArn",
            )
        })
}

/// `Then the task role of the ECS task definition "family" follows least privilege`
#[then(regex = r#"^the task role of the ECS task definition "([^"]+)" follows least privilege$"#)]
async fn task_role(world: &mut AcceptWorld, family: String) -> StepResult {
    let family = world.render(&family)?;
    let (tables, buckets) = own_resources(world)?;
    let role = task_role_arn(world, &family).await?;
    let problems = role_problems(world, &role, &tables, &buckets).await?;
    verdict(format!("the task role of {family}"), 1, problems)
}

/// `pattern` (IAM's `*` and `?` wildcards, case-insensitive as action names are) matches
/// `text`.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        text.to_ascii_lowercase().chars().collect(),
    );
    // Classic two-pointer glob match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Whether the documents allow `action` (on some resource): an Allow statement names it and
/// no unconditional Deny of it on every resource does.
pub fn allows_action(docs: &[Value], action: &str) -> bool {
    let names = |st: &Value| {
        strings(st.get("Action"))
            .iter()
            .any(|a| wildcard(a, action))
    };
    let all = docs.iter().flat_map(statements).collect::<Vec<_>>();
    let denied = all.iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Deny")
            && st.get("Condition").is_none()
            && names(st)
            && strings(st.get("Resource")).iter().any(|r| r == "*")
    });
    !denied
        && all
            .iter()
            .any(|st| st.get("Effect").and_then(Value::as_str) == Some("Allow") && names(st))
}

/// `Then the task role of the ECS task definition "family" allows "bedrock:InvokeModel, ..."`
#[then(regex = r#"^the task role of the ECS task definition "([^"]+)" allows "([^"]+)"$"#)]
async fn task_role_allows(world: &mut AcceptWorld, family: String, actions: String) -> StepResult {
    let family = world.render(&family)?;
    let role = task_role_arn(world, &family).await?;
    let (docs, _) = role_documents(world, &role).await?;
    let docs: Vec<Value> = docs.into_iter().map(|(_, d)| d).collect();
    let missing: Vec<&str> = actions
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty() && !allows_action(&docs, a))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StepError::mismatch(
            format!("the task role of {family} allows {actions}"),
            format!(
                "{} does not allow {} ({} policy documents)",
                role.rsplit('/').next().unwrap_or(&role),
                missing.join(", "),
                docs.len()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn own() -> (Vec<String>, Vec<String>) {
        (vec!["Jobs".into()], vec!["data".into()])
    }

    #[test]
    fn actions_allowed_by_wildcards_and_denied_outright() {
        let allow = json!({"Statement": [{"Effect": "Allow",
            "Action": ["bedrock:Invoke*", "s3:GetObject"], "Resource": "*"}]});
        assert!(allows_action(
            std::slice::from_ref(&allow),
            "bedrock:InvokeModel"
        ));
        assert!(allows_action(
            std::slice::from_ref(&allow),
            "BEDROCK:invokemodel"
        ));
        assert!(!allows_action(
            std::slice::from_ref(&allow),
            "bedrock:ListFoundationModels"
        ));
        assert!(!allows_action(std::slice::from_ref(&allow), "s3:PutObject"));
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}});
        assert!(!allows_action(
            &[allow.clone(), deny],
            "bedrock:InvokeModel"
        ));
        let conditional = json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}});
        assert!(allows_action(&[allow, conditional], "bedrock:InvokeModel"));
        assert!(wildcard("*", "x") && wildcard("a?c", "abc") && !wildcard("a*d", "abc"));
    }

    #[test]
    fn scoped_policy_passes() {
        let (t, b) = own();
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": ["arn:aws:dynamodb:us-east-1:1:table/Jobs", "arn:aws:dynamodb:us-east-1:1:table/Jobs/index/*"]},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
            {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:us-east-1::foundation-model/*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"}
        ]});
        assert!(policy_problems("p", &doc, &t, &b).is_empty());
    }

    #[test]
    fn wildcards_and_foreign_resources_are_reported() {
        let (t, b) = own();
        let doc = json!({"Statement": [
            {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "AnyTable", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Sid": "Other", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::someone-else/*"},
            {"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
        ]});
        let p = policy_problems("p", &doc, &t, &b);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("every action"));
        assert!(p[1].contains("on every resource"));
        assert!(p[2].contains("someone-else"));
        assert!(p[3].contains("NotAction"));
    }

    #[test]
    fn insecure_transport_deny_is_recognised() {
        let yes = json!({"Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        let other = json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": false}}}});
        assert!(denies_insecure_dynamodb(&yes));
        assert!(!denies_insecure_dynamodb(&allow));
        assert!(!denies_insecure_dynamodb(&other));
    }

    #[test]
    fn url_encoded_documents_decode() {
        assert_eq!(
            urlencoding_decode("%7B%22a%22%3A%20%22b%2Bc%22%7D"),
            "{\"a\": \"b+c\"}"
        );
        assert_eq!(urlencoding_decode("{\"plain\": 1}"), "{\"plain\": 1}");
    }
}
