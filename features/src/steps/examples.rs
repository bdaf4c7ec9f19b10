//! The documentation's SDK examples, run against the environment (Sergas' Usage Examples:
//! `python examples/analyze_account.py`): the command gets the API's base URL and the
//! writer identity's OAuth2 client credentials in its environment (`SERGAS_BASE_URL`,
//! `SERGAS_TOKEN_URL`, `SERGAS_CLIENT_ID`, `SERGAS_CLIENT_SECRET` — the secret only there,
//! never on a command line), runs without a shell, bounded to a minute, and its exit status
//! and output are judged. Where the examples live is the profile's `examples` var (locally
//! the reference examples under `fixtures/examples/`).

use std::time::Duration;

use cucumber::{then, when};
use shakedown_core::profile::{AuthProfile, Secret};

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// Longest an example may run.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Output kept for the report.
const KEEP: usize = 2_000;

/// `When I run the SDK example "python3 {examples}/analyze_account.py acc-0001" with the
/// API's base URL and the writer's client credentials`
#[when(
    regex = r#"^I run the SDK example "([^"]+)" with the API's base URL and the writer's client credentials$"#
)]
async fn run_example(world: &mut AcceptWorld, command: String) -> StepResult {
    let command = world.render(&command)?;
    let target = world.target()?;
    let Some(AuthProfile::Oauth2ClientCredentials {
        token_url,
        client_id,
        client_secret_env,
        writer_client_id,
        writer_client_secret_env,
        ..
    }) = &target.profile.auth
    else {
        return Err(StepError::Usage(format!(
            "the SDK examples authenticate with OAuth2 client credentials; the profile's {} has none",
            world.system
        )));
    };
    let id = writer_client_id.as_ref().unwrap_or(client_id);
    let var = writer_client_secret_env
        .as_ref()
        .unwrap_or(client_secret_env);
    let secret = Secret::from_env(var, "auth.writer-client-secret-env")
        .map_err(|e| StepError::Usage(e.to_string()))?;
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| StepError::Usage("an empty example command".into()))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(words)
        .env("SERGAS_BASE_URL", &target.base_url)
        .env("SERGAS_TOKEN_URL", token_url)
        .env("SERGAS_CLIENT_ID", id)
        .env("SERGAS_CLIENT_SECRET", secret.expose())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(EXAMPLE_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            StepError::mismatch(
                format!(
                    "`{command}` finishes within {} s",
                    EXAMPLE_TIMEOUT.as_secs()
                ),
                "still running; stopped",
            )
        })?
        .map_err(|e| StepError::Infra(format!("run `{command}`: {e}")))?;
    let keep = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.chars().take(KEEP).collect::<String>()
    };
    world.saved.insert(
        "example-status".into(),
        out.status
            .code()
            .map_or_else(|| out.status.to_string(), |c| c.to_string()),
    );
    world
        .saved
        .insert("example-stdout".into(), keep(&out.stdout));
    world
        .saved
        .insert("example-stderr".into(), keep(&out.stderr));
    world.saved.insert("example-command".into(), command);
    Ok(())
}

/// `Then the example exits 0 and prints "recommendation"`
#[then(regex = r#"^the example exits 0 and prints "([^"]+)"$"#)]
fn example_passed(world: &mut AcceptWorld, text: String) -> StepResult {
    let status = world.saved("example-status")?.to_owned();
    let stdout = world.saved("example-stdout")?.to_owned();
    let stderr = world.saved("example-stderr")?.to_owned();
    let command = world.saved("example-command")?.to_owned();
    ensure(
        status == "0",
        format!("`{command}` exits 0"),
        format!("exit {status}: {}", stderr.trim()),
    )?;
    ensure(
        stdout.contains(&text),
        format!("`{command}` prints {text:?}"),
        format!("{:?}", stdout.trim()),
    )
}
