//! Networks and logs as the runbooks document them: the VPC with its subnets and security
//! groups, VPC Flow Logs delivering to CloudWatch Logs, gateway endpoints, and the log
//! groups the troubleshooting runbooks read.

use aws_sdk_ec2::types::Filter;
use cucumber::then;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

fn ec2(world: &AcceptWorld) -> Result<aws_sdk_ec2::Client, StepError> {
    Ok(aws_sdk_ec2::Client::new(world.sdk()?))
}

/// The id of the VPC tagged `Name = name`.
async fn vpc_id(world: &AcceptWorld, name: &str) -> Result<String, StepError> {
    let out = ec2(world)?
        .describe_vpcs()
        .filters(Filter::builder().name("tag:Name").values(name).build())
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("ec2 DescribeVpcs: {}", aws_error_text(&e))))?;
    out.vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_owned)
        .ok_or_else(|| StepError::mismatch(format!("a VPC named {name}"), "none"))
}

fn by_vpc(id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(id).build()
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
    let client = ec2(world)?;
    let out = client
        .describe_subnets()
        .filters(by_vpc(&id))
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("ec2 DescribeSubnets: {}", aws_error_text(&e))))?;
    let mut zones: Vec<&str> = out
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    ensure(
        out.subnets().len() == subnets && zones.len() == subnets,
        format!("{subnets} subnets in {subnets} zones"),
        format!("{} subnets in zones {zones:?}", out.subnets().len()),
    )?;
    let out = client
        .describe_security_groups()
        .filters(by_vpc(&id))
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "ec2 DescribeSecurityGroups: {}",
                aws_error_text(&e)
            ))
        })?;
    let have: Vec<&str> = out
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name())
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
    let out = ec2(world)?
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(&id).build())
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("ec2 DescribeFlowLogs: {}", aws_error_text(&e))))?;
    let seen: Vec<String> = out
        .flow_logs()
        .iter()
        .map(|f| {
            format!(
                "{} {} → {}",
                f.flow_log_status().unwrap_or("?"),
                f.traffic_type().map(|t| t.as_str()).unwrap_or("?"),
                f.log_group_name().unwrap_or("?")
            )
        })
        .collect();
    let ok = out.flow_logs().iter().any(|f| {
        f.flow_log_status() == Some("ACTIVE")
            && f.traffic_type().map(|t| t.as_str()) == Some("ALL")
            && f.log_group_name() == Some(group.as_str())
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
    let out = ec2(world)?
        .describe_vpc_endpoints()
        .filters(by_vpc(&id))
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!("ec2 DescribeVpcEndpoints: {}", aws_error_text(&e)))
        })?;
    let wanted = format!(".{service}");
    let seen: Vec<String> = out
        .vpc_endpoints()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.service_name().unwrap_or("?"),
                e.vpc_endpoint_type().map(|t| t.as_str()).unwrap_or("?"),
                e.state().map(|s| s.as_str()).unwrap_or("?")
            )
        })
        .collect();
    let ok = out.vpc_endpoints().iter().any(|e| {
        e.service_name().is_some_and(|s| s.ends_with(&wanted))
            && e.vpc_endpoint_type().map(|t| t.as_str()) == Some(kind.as_str())
            && e.state().map(|s| s.as_str().to_ascii_lowercase()) == Some("available".into())
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
    let names = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| world.render(s))
        .collect::<Result<Vec<_>, _>>()?;
    log_groups_exist(world, &names).await
}
