//! Command-line pieces every suite binary shares — which profile and stack, which reports,
//! which tier overrides, which log format — and the one way they turn into a resolved
//! profile, reporters and an exit code. The binaries stay thin: parse, call these, run.

use std::path::PathBuf;

use crate::exit::ExitCode;
use crate::profile::{AuthProfile, Profile, ProfileError, Secret};
use crate::report::{
    ConsoleReporter, ConsoleStyle, JsonLinesReporter, JunitReporter, MarkdownReporter, Reporters,
};
use crate::stack::{MANIFEST_ENV, MANIFEST_FILE, StackManifest};
use crate::tier::Overrides;

/// The exit-code table, for `--help`.
pub const EXIT_CODES: &str = "Exit codes: 0 all passed · 1 a check failed · 2 bad usage or invalid profile · \
3 target or dependency unreachable · 4 nothing selected · 5 refused by tier policy";

/// An error that ends the run before anything ran: its message and exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub code: ExitCode,
    pub message: String,
}

impl Fatal {
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: ExitCode::Usage,
            message: message.to_string(),
        }
    }

    pub fn infra(message: impl std::fmt::Display) -> Self {
        Self {
            code: ExitCode::Infra,
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which environment: the profile, the fixtures it lives in, the local stack's manifest.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Profile name (a file in fixtures/environments/).
    #[arg(long, default_value = "local", env = "SHAKEDOWN_ENV")]
    pub env: String,
    /// The fixtures directory (profiles, runbook facts, claims).
    #[arg(long, env = "SHAKEDOWN_FIXTURES")]
    pub fixtures: Option<PathBuf>,
    /// The local stack's manifest (default: target/shakedown/local/stack.json).
    #[arg(long, env = MANIFEST_ENV)]
    pub stack_file: Option<PathBuf>,
}

impl ProfileArgs {
    pub fn fixtures(&self) -> PathBuf {
        self.fixtures.clone().unwrap_or_else(crate::fixtures_dir)
    }

    /// The named profile as written (no stack values, no secrets): enough to list and plan.
    pub fn load(&self) -> Result<Profile, Fatal> {
        Profile::load_named(&self.fixtures(), &self.env).map_err(Fatal::usage)
    }

    /// Resolve `${stack.…}` values from the running stack (exit 3 when a profile needs a
    /// stack that is not up) and make sure every secret the profile names is set (exit 2).
    pub fn resolve(&self, profile: Profile) -> Result<Profile, Fatal> {
        let manifest_path = self.stack_file.clone().unwrap_or_else(|| {
            self.fixtures()
                .join("..")
                .join("target")
                .join("shakedown")
                .join("local")
                .join(MANIFEST_FILE)
        });
        let manifest = if profile.uses_stack() && manifest_path.is_file() {
            Some(StackManifest::load(&manifest_path).map_err(Fatal::infra)?)
        } else {
            None
        };
        let profile = profile.resolve(manifest.as_ref()).map_err(|e| match e {
            ProfileError::Config(e) => Fatal::usage(e),
            ProfileError::Infra(e) => Fatal::infra(e),
        })?;
        check_secrets(&profile).map_err(Fatal::usage)?;
        Ok(profile)
    }
}

/// Every secret the profile names must be set before anything runs.
pub fn check_secrets(profile: &Profile) -> Result<(), crate::error::ConfigError> {
    for (system, sys) in &profile.systems {
        match &sys.auth {
            Some(AuthProfile::CognitoPassword { password_env, .. }) => {
                Secret::from_env(password_env, &format!("{system}.auth.password-env"))?;
            }
            Some(AuthProfile::Oauth2ClientCredentials {
                client_secret_env,
                writer_client_id,
                writer_client_secret_env,
                ..
            }) => {
                Secret::from_env(
                    client_secret_env,
                    &format!("{system}.auth.client-secret-env"),
                )?;
                if writer_client_id.is_some()
                    && let Some(var) = writer_client_secret_env
                {
                    Secret::from_env(var, &format!("{system}.auth.writer-client-secret-env"))?;
                }
            }
            Some(AuthProfile::StaticBearer { token_env }) => {
                Secret::from_env(token_env, &format!("{system}.auth.token-env"))?;
            }
            None => {}
        }
    }
    Ok(())
}

/// Which reports to write besides the console.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Stream every event as JSON lines to this file (flushed per event: a killed run keeps it).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write a markdown summary (for a PR comment).
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}

impl ReportArgs {
    /// The console reporter plus every report asked for.
    pub fn reporters(&self) -> Result<Reporters, Fatal> {
        let mut reporters = Reporters::new();
        reporters.add(ConsoleReporter::stdout(ConsoleStyle::detect()));
        if let Some(path) = &self.json {
            let r = JsonLinesReporter::create(path)
                .map_err(|e| Fatal::usage(format!("cannot write {}: {e}", path.display())))?;
            reporters.add(r);
        }
        if let Some(path) = &self.junit {
            reporters.add(JunitReporter::new(path));
        }
        if let Some(path) = &self.markdown {
            reporters.add(MarkdownReporter::new(path));
        }
        Ok(reporters)
    }
}

/// Explicit tier-policy overrides.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct PolicyArgs {
    /// Allow what writes data on a prod profile.
    #[arg(long)]
    pub allow_mutation_on_prod: bool,
    /// Allow destructive effects above dev.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Allow load above the tier's cap below prod, and the shared cap's load on prod.
    #[arg(long)]
    pub allow_heavy_load: bool,
}

impl From<PolicyArgs> for Overrides {
    fn from(a: PolicyArgs) -> Self {
        Overrides {
            allow_mutation_on_prod: a.allow_mutation_on_prod,
            allow_destructive: a.allow_destructive,
            allow_heavy_load: a.allow_heavy_load,
        }
    }
}

/// Log format on stderr.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A suite binary's `main`: diagnostics on stderr, a multi-threaded runtime, `run` on it;
/// a fatal error is printed and its exit code returned.
#[allow(clippy::print_stderr)] // the binaries' user-facing edge
pub fn main_with(
    log_format: LogFormat,
    run: impl std::future::Future<Output = Result<ExitCode, Fatal>>,
) -> std::process::ExitCode {
    init_logs(log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::Infra.into();
        }
    };
    match runtime.block_on(run) {
        Ok(code) => code.into(),
        Err(Fatal { code, message }) => {
            eprintln!("error: {message}");
            code.into()
        }
    }
}

/// Close the reporters and turn a run's summary exit code into the binary's: a report that
/// could not be written makes an otherwise green run an infrastructure error (exit 3).
#[allow(clippy::print_stderr)] // the binaries' user-facing edge
pub fn finish(reporters: Reporters, summary_exit: u8) -> ExitCode {
    let errors = reporters.finish();
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !errors.is_empty() && summary_exit == 0 {
        return ExitCode::Infra;
    }
    ExitCode::from_code(summary_exit)
}

/// Diagnostics go to stderr through the redacting writer; `RUST_LOG` overrides `warn`.
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::redact::stderr_writer);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
