//! AWS SDK configuration built from a profile: region, optional endpoint override (moto on
//! loopback, or whatever `AWS_ENDPOINT_URL*` says), credentials, timeouts and retries.
//!
//! Real environments use the default credential chain; the local stack uses static dummy
//! credentials (moto does not check signatures).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// How to reach AWS (or moto).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub region: String,
    /// Endpoint override; `None` lets aws-config honour `AWS_ENDPOINT_URL` / the real endpoints.
    pub endpoint: Option<String>,
    /// Use static dummy credentials (local stack only).
    pub static_credentials: bool,
    /// Retries per call; 1 means no retry (the local stack: a moto 500 should not cost 3 trips).
    pub max_attempts: u32,
}

impl AwsSettings {
    /// Settings for the local stack's moto endpoint.
    pub fn local(endpoint: &str, region: &str) -> Self {
        Self {
            region: region.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            static_credentials: true,
            max_attempts: 1,
        }
    }
}

/// Build an `SdkConfig` with timeouts on every call.
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)));
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if settings.static_credentials {
        loader = loader.credentials_provider(Credentials::from_keys("testing", "testing", None));
    }
    loader.load().await
}

/// S3 needs path-style addressing against an endpoint override (`localhost`, `127.0.0.1`).
/// The cluster of an ECS task ARN (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID`); `None`
/// for an old-format ARN without the cluster, or anything else.
pub fn task_cluster(task_arn: &str) -> Option<&str> {
    let resource = task_arn.rsplit_once(":task/")?.1;
    let (cluster, id) = resource.split_once('/')?;
    (!cluster.is_empty() && !id.is_empty()).then_some(cluster)
}

pub fn s3_config(sdk: &SdkConfig) -> aws_sdk_s3_config::Builder {
    aws_sdk_s3_config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some())
}

/// Re-export so crates do not need to name the S3 crate's config module themselves.
pub mod aws_sdk_s3_config {
    pub use aws_sdk_s3::config::Builder;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_of_a_task_arn() {
        assert_eq!(
            task_cluster("arn:aws:ecs:us-east-1:123456789012:task/plot-palette/abc"),
            Some("plot-palette")
        );
        assert_eq!(
            task_cluster("arn:aws:ecs:us-east-1:123456789012:task/abc"),
            None
        );
        assert_eq!(task_cluster("nonsense"), None);
    }
}
