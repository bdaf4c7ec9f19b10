//! CloudFront as the runbooks configure it: the distribution (found by its Comment) serves
//! viewers over HTTPS only, caches with the documented policies and TTLs, is protected by a
//! WAF web ACL, and logs to an S3 bucket.

use aws_sdk_cloudfront::types::DistributionConfig;
use cucumber::then;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// The configuration of the distribution whose Comment is `comment` (bounded: 20 pages).
async fn config_of(world: &AcceptWorld, comment: &str) -> Result<DistributionConfig, StepError> {
    let cf = aws_sdk_cloudfront::Client::new(world.sdk()?);
    let mut marker = None;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let page = cf
            .list_distributions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "cloudfront ListDistributions: {}",
                    aws_error_text(&e)
                ))
            })?;
        let Some(list) = page.distribution_list() else {
            break;
        };
        for d in list.items() {
            if d.comment() == comment {
                let out = cf
                    .get_distribution_config()
                    .id(d.id())
                    .send()
                    .await
                    .map_err(|e| {
                        StepError::Infra(format!(
                            "cloudfront GetDistributionConfig {}: {}",
                            d.id(),
                            aws_error_text(&e)
                        ))
                    })?;
                return out.distribution_config().cloned().ok_or_else(|| {
                    StepError::mismatch("a distribution config", "GetDistributionConfig gave none")
                });
            }
            seen.push(d.comment().to_owned());
        }
        marker = list.next_marker().map(str::to_owned);
        if marker.is_none() || !list.is_truncated() {
            break;
        }
    }
    Err(StepError::mismatch(
        format!("a CloudFront distribution with the comment {comment:?}"),
        if seen.is_empty() {
            "no distributions".to_owned()
        } else {
            format!("distributions: {}", seen.join(", "))
        },
    ))
}

/// `Then the CloudFront distribution "C" serves viewers over HTTPS only`
#[then(regex = r#"^the CloudFront distribution "([^"]+)" serves viewers over HTTPS only$"#)]
async fn https_only(world: &mut AcceptWorld, comment: String) -> StepResult {
    let comment = world.render(&comment)?;
    let config = config_of(world, &comment).await?;
    let mut policies = Vec::new();
    if let Some(d) = config.default_cache_behavior() {
        policies.push((
            "default".to_owned(),
            d.viewer_protocol_policy().as_str().to_owned(),
        ));
    }
    for c in config
        .cache_behaviors()
        .map(|c| c.items())
        .unwrap_or_default()
    {
        policies.push((
            c.path_pattern().to_owned(),
            c.viewer_protocol_policy().as_str().to_owned(),
        ));
    }
    let plain: Vec<String> = policies
        .iter()
        .filter(|(_, p)| p != "https-only")
        .map(|(path, p)| format!("{path}: {p}"))
        .collect();
    ensure(
        plain.is_empty() && !policies.is_empty(),
        format!("every cache behaviour of {comment} with ViewerProtocolPolicy https-only"),
        plain.join(", "),
    )
}

/// `Then the CloudFront distribution "C" caches with the cache policy "X" and the origin
/// request policy "Y", compression on, a default TTL of 3600 s and a max TTL of 86400 s`.
/// TTLs come from the default cache behaviour, or from its cache policy when the behaviour
/// leaves them to it (as AWS requires once a cache policy is set).
#[then(
    regex = r#"^the CloudFront distribution "([^"]+)" caches with the cache policy "([^"]+)" and the origin request policy "([^"]+)", compression on, a default TTL of (\d+) s and a max TTL of (\d+) s$"#
)]
async fn caching(
    world: &mut AcceptWorld,
    comment: String,
    cache_policy: String,
    origin_policy: String,
    default_ttl: i64,
    max_ttl: i64,
) -> StepResult {
    let comment = world.render(&comment)?;
    let config = config_of(world, &comment).await?;
    let Some(d) = config.default_cache_behavior() else {
        return Err(StepError::mismatch("a default cache behaviour", "none"));
    };
    // The runbook documents the legacy per-behaviour TTL fields (deprecated since cache
    // policies): read them where set, else the cache policy's.
    #[allow(deprecated)]
    let (mut got_default, mut got_max) = (d.default_ttl(), d.max_ttl());
    if (got_default.is_none() || got_max.is_none())
        && let Some(id) = d.cache_policy_id()
    {
        let policy = aws_sdk_cloudfront::Client::new(world.sdk()?)
            .get_cache_policy()
            .id(id)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(format!("the cache policy {id}"), aws_error_text(&e))
            })?;
        let c = policy.cache_policy().and_then(|p| p.cache_policy_config());
        got_default = got_default.or(c.and_then(|c| c.default_ttl()));
        got_max = got_max.or(c.and_then(|c| c.max_ttl()));
    }
    let mut problems = Vec::new();
    if d.cache_policy_id() != Some(cache_policy.as_str()) {
        problems.push(format!("CachePolicyId {:?}", d.cache_policy_id()));
    }
    if d.origin_request_policy_id() != Some(origin_policy.as_str()) {
        problems.push(format!(
            "OriginRequestPolicyId {:?}",
            d.origin_request_policy_id()
        ));
    }
    if d.compress() != Some(true) {
        problems.push(format!("Compress {:?}", d.compress()));
    }
    if got_default != Some(default_ttl) {
        problems.push(format!("DefaultTTL {got_default:?}"));
    }
    if got_max != Some(max_ttl) {
        problems.push(format!("MaxTTL {got_max:?}"));
    }
    ensure(
        problems.is_empty(),
        format!(
            "{comment}: CachePolicyId {cache_policy}, OriginRequestPolicyId {origin_policy}, Compress true, DefaultTTL {default_ttl}, MaxTTL {max_ttl}"
        ),
        problems.join(", "),
    )
}

/// `Then the CloudFront distribution "C" is protected by a web ACL with rules`
#[then(regex = r#"^the CloudFront distribution "([^"]+)" is protected by a web ACL with rules$"#)]
async fn protected(world: &mut AcceptWorld, comment: String) -> StepResult {
    let comment = world.render(&comment)?;
    let config = config_of(world, &comment).await?;
    let arn = config.web_acl_id().unwrap_or_default().to_owned();
    // arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID
    let parts: Vec<&str> = arn.rsplit('/').take(2).collect();
    let [id, name] = parts.as_slice() else {
        return Err(StepError::mismatch(
            format!("{comment} with a WAFv2 web ACL (WebACLId)"),
            if arn.is_empty() {
                "no WebACLId".to_owned()
            } else {
                format!("WebACLId {arn:?}")
            },
        ));
    };
    let out = aws_sdk_wafv2::Client::new(world.sdk()?)
        .get_web_acl()
        .scope(aws_sdk_wafv2::types::Scope::Cloudfront)
        .name(*name)
        .id(*id)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("the web ACL {arn} (scope CLOUDFRONT)"),
                aws_error_text(&e),
            )
        })?;
    let rules = out.web_acl().map(|w| w.rules().len()).unwrap_or(0);
    ensure(
        rules > 0,
        format!("{comment}'s web ACL {name} with rules"),
        format!("{rules} rules"),
    )
}

/// `Then the CloudFront distribution "C" logs requests to the bucket "B"`
#[then(regex = r#"^the CloudFront distribution "([^"]+)" logs requests to the bucket "([^"]+)"$"#)]
async fn logs_to(world: &mut AcceptWorld, comment: String, bucket: String) -> StepResult {
    let comment = world.render(&comment)?;
    let bucket = world.render(&bucket)?;
    let config = config_of(world, &comment).await?;
    let logging = config.logging();
    let enabled = logging.is_some_and(|l| l.enabled());
    let target = logging.map(|l| l.bucket().to_owned()).unwrap_or_default();
    // CloudFront names the bucket by its domain: `<bucket>.s3.amazonaws.com`.
    let named = target.split(".s3").next().is_some_and(|b| b == bucket);
    ensure(
        enabled && named,
        format!("{comment} logging to {bucket}"),
        format!("Logging.Enabled {enabled}, Bucket {target:?}"),
    )?;
    aws_sdk_s3::Client::new(world.sdk()?)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            StepError::mismatch(
                format!("the log bucket {bucket} exists"),
                aws_error_text(&e),
            )
        })
}
