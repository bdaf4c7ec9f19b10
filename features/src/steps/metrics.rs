//! What the runbooks' `aws cloudwatch get-metric-statistics` diagnoses read: a metric's
//! datapoints over the last hour at the documented period, a statistic compared with a
//! documented bound, and the custom metrics a namespace lists.
//!
//! "Has new datapoints" means the scenario's own requests were measured: the step compares
//! the metric's sample count with the one noted before (over the same fixed window), so
//! datapoints an earlier run left in the last hour do not count.
//!
//! CloudWatch semantics are kept: a metric nobody published has no datapoints, so a `Sum`
//! or `SampleCount` over nothing is 0 (DynamoDB publishes no throttle datapoint when nothing
//! was throttled), while `Average`, `Maximum` and `Minimum` over nothing are "no data", which
//! fails a bound rather than passing it.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Datapoint, Dimension, Statistic};
use cucumber::{given, then};
use tokio::time::Instant;

use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const WINDOW: Duration = Duration::from_secs(3600);
/// How long a noted sample count must hold still, and how many times it is re-read.
const NOTE_SETTLE: Duration = Duration::from_millis(1500);
const NOTE_READS: usize = 6;

/// `"A=x, B=y"` as CloudWatch dimensions (rendered).
fn dimensions(world: &AcceptWorld, text: &str) -> Result<Vec<Dimension>, StepError> {
    let text = world.render(text)?;
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                StepError::Usage(format!("dimension `{pair}` is not `Name=Value`"))
            })?;
            Ok(Dimension::builder().name(k.trim()).value(v.trim()).build())
        })
        .collect()
}

fn value_of(p: &Datapoint, stat: &str) -> Option<f64> {
    match stat {
        "Average" => p.average(),
        "Maximum" => p.maximum(),
        "Minimum" => p.minimum(),
        "Sum" => p.sum(),
        "SampleCount" => p.sample_count(),
        _ => None,
    }
}

/// `GetMetricStatistics` over the last hour (and a minute ahead, for clock skew).
async fn datapoints(
    world: &AcceptWorld,
    namespace: &str,
    metric: &str,
    dims: &[Dimension],
    period: i32,
) -> Result<Vec<Datapoint>, StepError> {
    datapoints_from(
        world,
        namespace,
        metric,
        dims,
        period,
        SystemTime::now() - WINDOW,
    )
    .await
}

/// `GetMetricStatistics` from `start` to a minute ahead of now.
async fn datapoints_from(
    world: &AcceptWorld,
    namespace: &str,
    metric: &str,
    dims: &[Dimension],
    period: i32,
    start: SystemTime,
) -> Result<Vec<Datapoint>, StepError> {
    let cw = aws_sdk_cloudwatch::Client::new(world.sdk()?);
    let now = SystemTime::now();
    let call = cw
        .get_metric_statistics()
        .namespace(namespace)
        .metric_name(metric)
        .set_dimensions(Some(dims.to_vec()))
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(now + Duration::from_secs(60)))
        .period(period)
        .set_statistics(Some(vec![
            Statistic::Average,
            Statistic::Maximum,
            Statistic::Minimum,
            Statistic::Sum,
            Statistic::SampleCount,
        ]))
        .send();
    let out = tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| {
            StepError::Infra(format!(
                "cloudwatch GetMetricStatistics {metric}: timed out"
            ))
        })?
        .map_err(|e| {
            StepError::Infra(format!(
                "cloudwatch GetMetricStatistics {namespace} {metric}: {}",
                aws_error_text(&e)
            ))
        })?;
    Ok(out.datapoints().to_vec())
}

fn describe(namespace: &str, metric: &str, dims: &[Dimension], period: i32) -> String {
    let dims: Vec<String> = dims
        .iter()
        .map(|d| format!("{}={}", d.name().unwrap_or(""), d.value().unwrap_or("")))
        .collect();
    format!(
        "{namespace} {metric} [{}] at period {period} s over the last hour",
        dims.join(", ")
    )
}

fn samples(points: &[Datapoint]) -> f64 {
    points.iter().filter_map(Datapoint::sample_count).sum()
}

fn noted_key(namespace: &str, metric: &str, dims: &[Dimension]) -> String {
    format!("metric-samples {}", describe(namespace, metric, dims, 0))
}

#[given(regex = r#"^I note the samples of the metric "([^"]+)" in "([^"]+)" with "([^"]*)"$"#)]
async fn note_samples(
    world: &mut AcceptWorld,
    metric: String,
    namespace: String,
    dims: String,
) -> StepResult {
    let dims = dimensions(world, &dims)?;
    let start = SystemTime::now() - WINDOW;
    // Publishers batch (the local services flush every second; CloudWatch ingests later
    // still): wait until two reads agree, so datapoints of requests made before this
    // scenario are in the baseline rather than counted as the scenario's.
    let mut points = datapoints_from(world, &namespace, &metric, &dims, 60, start).await?;
    let mut count = samples(&points);
    for _ in 0..NOTE_READS {
        tokio::time::sleep(NOTE_SETTLE).await;
        points = datapoints_from(world, &namespace, &metric, &dims, 60, start).await?;
        let again = samples(&points);
        if again == count {
            break;
        }
        count = again;
    }
    let sum = total(&points);
    let start_s = start
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    world.saved.insert(
        noted_key(&namespace, &metric, &dims),
        format!("{start_s} {count} {sum}"),
    );
    Ok(())
}

/// What `I note the samples of …` saved: the window's start, the sample count and the Sum.
fn noted(
    world: &AcceptWorld,
    namespace: &str,
    metric: &str,
    dims: &[Dimension],
) -> Result<(SystemTime, f64, f64), StepError> {
    let key = noted_key(namespace, metric, dims);
    let noted = world.saved.get(&key).cloned().ok_or_else(|| {
        StepError::Usage(format!(
            "note the samples of {metric} in {namespace} first (`Given I note the samples of the metric …`)"
        ))
    })?;
    let mut parts = noted.split_whitespace();
    let mut next = || parts.next().and_then(|p| p.parse::<f64>().ok());
    match (next(), next(), next()) {
        (Some(start_s), Some(count), Some(sum)) => Ok((
            SystemTime::UNIX_EPOCH + Duration::from_secs_f64(start_s),
            count,
            sum,
        )),
        _ => Err(StepError::Usage(format!(
            "unreadable noted samples `{noted}`"
        ))),
    }
}

fn total(points: &[Datapoint]) -> f64 {
    points.iter().filter_map(Datapoint::sum).sum()
}

/// `Then within 20 s, the Sum of the metric "Errors" in "AWS/Lambda" with "FunctionName=f"
/// has grown by at least 1`: since `I note the samples of …` — this scenario's errors, not
/// the last hour's.
#[then(
    regex = r#"^within (\d+) s, the Sum of the metric "([^"]+)" in "([^"]+)" with "([^"]*)" has grown by at least (\d+(?:\.\d+)?)$"#
)]
async fn sum_grown(
    world: &mut AcceptWorld,
    seconds: u64,
    metric: String,
    namespace: String,
    dims: String,
    by: f64,
) -> StepResult {
    let dims = dimensions(world, &dims)?;
    let (start, _, before) = noted(world, &namespace, &metric, &dims)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let now = total(&datapoints_from(world, &namespace, &metric, &dims, 60, start).await?);
        if now - before >= by {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StepError::mismatch(
                format!(
                    "the Sum of {} grown by at least {by} within {seconds} s",
                    describe(&namespace, &metric, &dims, 60)
                ),
                format!("{now}, {before} before the scenario's requests"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[then(
    regex = r#"^within (\d+) s, the metric "([^"]+)" in "([^"]+)" with "([^"]*)" has new datapoints at period (\d+) s over the last hour$"#
)]
async fn has_new_datapoints(
    world: &mut AcceptWorld,
    seconds: u64,
    metric: String,
    namespace: String,
    dims: String,
    period: i32,
) -> StepResult {
    let dims = dimensions(world, &dims)?;
    let (start, before, _) = noted(world, &namespace, &metric, &dims)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let points = datapoints_from(world, &namespace, &metric, &dims, period, start).await?;
        let now = samples(&points);
        if now > before {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StepError::mismatch(
                format!(
                    "new datapoints of {} within {seconds} s",
                    describe(&namespace, &metric, &dims, period)
                ),
                format!("{now} samples, as many as before the scenario's requests ({before})"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[then(
    regex = r#"^the "(Average|Maximum|Minimum|Sum|SampleCount)" of the metric "([^"]+)" in "([^"]+)" with "([^"]*)" at period (\d+) s over the last hour is (at most|at least) (\d+(?:\.\d+)?)$"#
)]
// One argument per capture of the step's text.
#[allow(clippy::too_many_arguments)]
async fn statistic_bound(
    world: &mut AcceptWorld,
    stat: String,
    metric: String,
    namespace: String,
    dims: String,
    period: i32,
    relation: String,
    bound: f64,
) -> StepResult {
    let dims = dimensions(world, &dims)?;
    let points = datapoints(world, &namespace, &metric, &dims, period).await?;
    let values: Vec<f64> = points.iter().filter_map(|p| value_of(p, &stat)).collect();
    let what = describe(&namespace, &metric, &dims, period);
    // Over the whole window: the largest Maximum/Average, the smallest Minimum, the total
    // of Sum/SampleCount (0 when nothing was published).
    let overall = match stat.as_str() {
        "Sum" | "SampleCount" => Some(values.iter().sum::<f64>()),
        "Minimum" => values.iter().copied().reduce(f64::min),
        _ => values.iter().copied().reduce(f64::max),
    };
    let Some(got) = overall else {
        return Err(StepError::mismatch(
            format!("{stat} of {what} {relation} {bound}"),
            "no datapoints",
        ));
    };
    let holds = match relation.as_str() {
        "at most" => got <= bound,
        _ => got >= bound,
    };
    ensure(
        holds,
        format!("{stat} of {what} {relation} {bound}"),
        format!("{got} over {} datapoints", values.len()),
    )
}

#[then(regex = r#"^the namespace "([^"]+)" lists the metrics "([^"]+)"$"#)]
async fn lists_metrics(world: &mut AcceptWorld, namespace: String, wanted: String) -> StepResult {
    let cw = aws_sdk_cloudwatch::Client::new(world.sdk()?);
    let mut names = std::collections::BTreeSet::new();
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let call = cw
            .list_metrics()
            .namespace(&namespace)
            .set_next_token(token.clone())
            .send();
        let out = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| StepError::Infra("cloudwatch ListMetrics: timed out".into()))?
            .map_err(|e| {
                StepError::Infra(format!("cloudwatch ListMetrics: {}", aws_error_text(&e)))
            })?;
        names.extend(
            out.metrics()
                .iter()
                .filter_map(|m| m.metric_name().map(str::to_owned)),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let missing: Vec<&str> = wanted
        .split(',')
        .map(str::trim)
        .filter(|m| !names.contains(*m))
        .collect();
    ensure(
        missing.is_empty(),
        format!("namespace {namespace} lists {wanted}"),
        format!(
            "missing {}; listed: {}",
            missing.join(", "),
            names.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Sum of every series of the counter `family` in a Prometheus text exposition; `None` when
/// the family has no series.
pub fn prometheus_sum(text: &str, family: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(line.len());
        if &line[..name_end] != family {
            continue;
        }
        let mut rest = &line[name_end..];
        if rest.starts_with('{') {
            // Skip the label set; quoted values may hold `}` and spaces.
            let mut quoted = false;
            let mut escaped = false;
            let mut end = None;
            for (i, c) in rest.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    '}' if !quoted => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            rest = end.map_or("", |i| &rest[i + 1..]);
        }
        if let Some(v) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            total = Some(total.unwrap_or(0.0) + v);
        }
    }
    total
}

async fn prometheus_counter(
    world: &AcceptWorld,
    family: &str,
    path: &str,
) -> Result<f64, StepError> {
    let ex = world
        .target()?
        .get(path, None)
        .await
        .map_err(|e| StepError::Infra(format!("GET {path}: {e}")))?;
    if !ex.status.is_success() {
        return Err(StepError::mismatch(
            format!("GET {path} answers 200"),
            format!("{}", ex.status.as_u16()),
        ));
    }
    prometheus_sum(&ex.body, family).ok_or_else(|| {
        StepError::mismatch(format!("the counter {family} in {path}"), "no such series")
    })
}

/// `Given I note the Prometheus counter "F" at "/metrics"`: the sum of its series.
#[given(regex = r#"^I note the Prometheus counter "([^"]+)" at "([^"]+)"$"#)]
async fn note_counter(world: &mut AcceptWorld, family: String, path: String) -> StepResult {
    let path = world.render(&path)?;
    let value = prometheus_counter(world, &family, &path).await?;
    world
        .saved
        .insert(format!("counter:{family}"), value.to_string());
    Ok(())
}

/// `Then the Prometheus counter "F" at "/metrics" has grown by at least N`
#[then(regex = r#"^the Prometheus counter "([^"]+)" at "([^"]+)" has grown by at least (\d+)$"#)]
async fn counter_grew(
    world: &mut AcceptWorld,
    family: String,
    path: String,
    at_least: u64,
) -> StepResult {
    let path = world.render(&path)?;
    let before: f64 = world
        .saved(&format!("counter:{family}"))?
        .parse()
        .map_err(|e| StepError::Usage(format!("noted {family}: {e}")))?;
    let now = prometheus_counter(world, &family, &path).await?;
    ensure(
        now - before >= at_least as f64,
        format!("{family} up by at least {at_least}"),
        format!("{before} → {now}"),
    )
}

#[cfg(test)]
mod prometheus_tests {
    use super::prometheus_sum;

    #[test]
    fn sums_every_series_of_a_family_only() {
        let text = "# HELP a_total x\n# TYPE a_total counter\na_total{status=\"401\",path=\"/x } y\"} 3\na_total{status=\"403\"} 2 1700000000000\na_total_created 9\nb_total 7\n";
        assert_eq!(prometheus_sum(text, "a_total"), Some(5.0));
        assert_eq!(prometheus_sum(text, "b_total"), Some(7.0));
        assert_eq!(prometheus_sum(text, "c_total"), None);
    }
}

/// `Then the longest Duration of the function "F" over the last hour stays below its
/// configured timeout`: the `Maximum` of `AWS/Lambda Duration` for the function against the
/// `Timeout` Lambda stops it at (a function that reaches it logs "Task timed out").
#[then(
    regex = r#"^the longest Duration of the function "([^"]+)" over the last hour stays below its configured timeout$"#
)]
async fn duration_below_timeout(world: &mut AcceptWorld, function: String) -> StepResult {
    let function = world.render(&function)?;
    let config = crate::steps::lambda::configuration(world, &function, None).await?;
    let timeout_ms = f64::from(config.timeout().unwrap_or(3)) * 1000.0;
    let dims = vec![
        Dimension::builder()
            .name("FunctionName")
            .value(&function)
            .build(),
    ];
    let points = datapoints(world, "AWS/Lambda", "Duration", &dims, 60).await?;
    let longest = points
        .iter()
        .filter_map(Datapoint::maximum)
        .reduce(f64::max)
        .ok_or_else(|| {
            StepError::mismatch(
                format!("Duration datapoints of {function} over the last hour"),
                "no datapoints",
            )
        })?;
    ensure(
        longest < timeout_ms,
        format!("{function}'s longest Duration below its {timeout_ms:.0} ms timeout"),
        format!("{longest:.0} ms"),
    )
}

/// DynamoDB's throttling metrics: `ThrottledRequests` (per table and operation) and the
/// read and write throttle events (per table).
const THROTTLE_METRICS: [&str; 3] = [
    "ThrottledRequests",
    "ReadThrottleEvents",
    "WriteThrottleEvents",
];

/// `Then no table of the runbook was throttled over the last hour`: for each of the runbook's
/// tables (which must exist), every published series of the throttling metrics — found with
/// ListMetrics, since `ThrottledRequests` carries an `Operation` dimension too — sums to 0.
#[then(regex = r"^no table of the runbook was throttled over the last hour$")]
async fn no_table_throttled(world: &mut AcceptWorld) -> StepResult {
    let tables: Vec<String> = world
        .facts()?
        .tables
        .iter()
        .map(|t| world.render(&t.name))
        .collect::<Result<_, _>>()?;
    ensure(
        !tables.is_empty(),
        "the runbook documents DynamoDB tables",
        "none in its facts",
    )?;
    let ddb = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let cw = aws_sdk_cloudwatch::Client::new(world.sdk()?);
    let mut throttled = Vec::new();
    for table in &tables {
        ddb.describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(format!("the table {table} exists"), aws_error_text(&e))
            })?;
        for metric in THROTTLE_METRICS {
            let listed = tokio::time::timeout(
                CALL_TIMEOUT,
                cw.list_metrics()
                    .namespace("AWS/DynamoDB")
                    .metric_name(metric)
                    .dimensions(
                        aws_sdk_cloudwatch::types::DimensionFilter::builder()
                            .name("TableName")
                            .value(table)
                            .build(),
                    )
                    .send(),
            )
            .await
            .map_err(|_| StepError::Infra(format!("cloudwatch ListMetrics {metric}: timed out")))?
            .map_err(|e| {
                StepError::Infra(format!(
                    "cloudwatch ListMetrics {metric}: {}",
                    aws_error_text(&e)
                ))
            })?;
            for series in listed.metrics() {
                let dims = series.dimensions().to_vec();
                let points = datapoints(world, "AWS/DynamoDB", metric, &dims, 60).await?;
                let sum: f64 = points.iter().filter_map(Datapoint::sum).sum();
                if sum > 0.0 {
                    throttled.push(format!(
                        "{sum} in {}",
                        describe("AWS/DynamoDB", metric, &dims, 60)
                    ));
                }
            }
        }
    }
    ensure(
        throttled.is_empty(),
        format!(
            "no throttled request or event on {} over the last hour",
            tables.join(", ")
        ),
        throttled.join("; "),
    )
}
