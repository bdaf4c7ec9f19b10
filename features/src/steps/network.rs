//! Networks and logs as the runbooks document them: the VPC with its subnets and security
//! groups, VPC Flow Logs delivering to CloudWatch Logs, gateway endpoints, and the log
//! groups the troubleshooting runbooks read.

use cucumber::then;
use shakedown_core::ec2::{Ec2, Xml, filter};
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// One EC2 call with a filter; a failure is the infrastructure's.
async fn describe(
    world: &AcceptWorld,
    action: &str,
    (name, value): (&str, &str),
) -> Result<Xml, StepError> {
    Ec2::new(world.sdk()?)
        .call(action, &filter(name, value))
        .await
        .map_err(|e| StepError::Infra(e.to_string()))
}

/// The id of the VPC tagged `Name = name`.
async fn vpc_id(world: &AcceptWorld, name: &str) -> Result<String, StepError> {
    let out = describe(world, "DescribeVpcs", ("tag:Name", name)).await?;
    out.items("vpcSet")
        .find_map(|v| v.text_of("vpcId"))
        .map(str::to_owned)
        .ok_or_else(|| StepError::mismatch(format!("a VPC named {name}"), "none"))
}

#[then(
    regex = r#"^the VPC "([^"]+)" has (\d+) subnets in distinct availability zones and the security groups "([^"]+)"$"#
)]
async fn vpc_layout(
    world: &mut AcceptWorld,
    name: String,
    subnets: usize,
    groups: String,
) -> StepResult {
    let name = world.render(&name)?;
    let id = vpc_id(world, &name).await?;
    let out = describe(world, "DescribeSubnets", ("vpc-id", &id)).await?;
    let count = out.items("subnetSet").count();
    let mut zones: Vec<&str> = out
        .items("subnetSet")
        .filter_map(|s| s.text_of("availabilityZone"))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    ensure(
        count == subnets && zones.len() == subnets,
        format!("{subnets} subnets in {subnets} zones"),
        format!("{count} subnets in zones {zones:?}"),
    )?;
    let out = describe(world, "DescribeSecurityGroups", ("vpc-id", &id)).await?;
    let have: Vec<&str> = out
        .items("securityGroupInfo")
        .filter_map(|g| g.text_of("groupName"))
        .collect();
    let mut missing = Vec::new();
    for g in groups.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        let g = world.render(g)?;
        if !have.contains(&g.as_str()) {
            missing.push(g);
        }
    }
    ensure(
        missing.is_empty(),
        format!("security groups {groups}"),
        format!("groups {have:?}; missing {missing:?}"),
    )
}

#[then(
    regex = r#"^the VPC "([^"]+)" has an ACTIVE flow log of ALL traffic delivering to the log group "([^"]+)"$"#
)]
async fn flow_logs(world: &mut AcceptWorld, name: String, group: String) -> StepResult {
    let (name, group) = (world.render(&name)?, world.render(&group)?);
    let id = vpc_id(world, &name).await?;
    let out = describe(world, "DescribeFlowLogs", ("resource-id", &id)).await?;
    let seen: Vec<String> = out
        .items("flowLogSet")
        .map(|f| {
            format!(
                "{} {} → {}",
                f.text_of("flowLogStatus").unwrap_or("?"),
                f.text_of("trafficType").unwrap_or("?"),
                f.text_of("logGroupName").unwrap_or("?")
            )
        })
        .collect();
    let ok = out.items("flowLogSet").any(|f| {
        f.text_of("flowLogStatus") == Some("ACTIVE")
            && f.text_of("trafficType") == Some("ALL")
            && f.text_of("logGroupName") == Some(group.as_str())
    });
    ensure(
        ok,
        format!("an ACTIVE flow log of ALL traffic on {name} into {group}"),
        if seen.is_empty() {
            format!("no flow log on {name} ({id})")
        } else {
            seen.join("; ")
        },
    )?;
    log_groups_exist(world, &[group]).await
}

#[then(
    regex = r#"^the VPC "([^"]+)" has an available (Gateway|Interface) endpoint for "([^"]+)"$"#
)]
async fn endpoint(
    world: &mut AcceptWorld,
    name: String,
    kind: String,
    service: String,
) -> StepResult {
    let name = world.render(&name)?;
    let id = vpc_id(world, &name).await?;
    let out = describe(world, "DescribeVpcEndpoints", ("vpc-id", &id)).await?;
    let wanted = format!(".{service}");
    let seen: Vec<String> = out
        .items("vpcEndpointSet")
        .map(|e| {
            format!(
                "{} {} {}",
                e.text_of("serviceName").unwrap_or("?"),
                e.text_of("vpcEndpointType").unwrap_or("?"),
                e.text_of("state").unwrap_or("?")
            )
        })
        .collect();
    let ok = out.items("vpcEndpointSet").any(|e| {
        e.text_of("serviceName")
            .is_some_and(|s| s.ends_with(&wanted))
            && e.text_of("vpcEndpointType")
                .is_some_and(|t| t.eq_ignore_ascii_case(&kind))
            && e.text_of("state")
                .is_some_and(|s| s.eq_ignore_ascii_case("available"))
    });
    ensure(
        ok,
        format!("an available {kind} endpoint for {service} in {name}"),
        if seen.is_empty() {
            "no endpoints".to_owned()
        } else {
            seen.join("; ")
        },
    )
}

/// Every named log group exists (exact names).
async fn log_groups_exist(world: &AcceptWorld, names: &[String]) -> StepResult {
    let logs = aws_sdk_cloudwatchlogs::Client::new(world.sdk()?);
    let mut missing = Vec::new();
    for name in names {
        let out = logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!("logs DescribeLogGroups: {}", aws_error_text(&e)))
            })?;
        if !out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(name.as_str()))
        {
            missing.push(name.clone());
        }
    }
    ensure(
        missing.is_empty(),
        format!("log groups {}", names.join(", ")),
        format!("missing {}", missing.join(", ")),
    )
}

#[then(regex = r#"^the log groups "([^"]+)" exist$"#)]
async fn log_groups(world: &mut AcceptWorld, list: String) -> StepResult {
    let names = world.render_list(&list)?;
    log_groups_exist(world, &names).await
}
