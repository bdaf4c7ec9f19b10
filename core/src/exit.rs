//! The exit codes every shakedown binary and `cargo xtask` use. One table, documented in the
//! README; nothing else in the workspace invents a code.

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum ExitCode {
    /// Every selected check passed.
    Ok = 0,
    /// At least one check failed: the gate says no.
    Failed = 1,
    /// Bad usage or an invalid profile (file, line and key are printed).
    Usage = 2,
    /// The target or a dependency could not be reached or set up.
    Infra = 3,
    /// Nothing was selected to run.
    NothingSelected = 4,
    /// Refused by tier policy (e.g. a mutating check on prod without an override).
    Refused = 5,
}

impl ExitCode {
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The code a summary carries (`Summary::exit_code`); anything unknown is a usage error.
    pub const fn from_code(code: u8) -> Self {
        match code {
            0 => ExitCode::Ok,
            1 => ExitCode::Failed,
            3 => ExitCode::Infra,
            4 => ExitCode::NothingSelected,
            5 => ExitCode::Refused,
            _ => ExitCode::Usage,
        }
    }

    /// Every code with a one-line meaning (for `--help` and the README).
    pub const TABLE: [(ExitCode, &'static str); 6] = [
        (ExitCode::Ok, "all selected checks passed"),
        (ExitCode::Failed, "a check failed (the gate says no)"),
        (ExitCode::Usage, "bad usage or an invalid profile"),
        (
            ExitCode::Infra,
            "the target or a dependency could not be reached or set up",
        ),
        (ExitCode::NothingSelected, "nothing was selected to run"),
        (ExitCode::Refused, "refused by tier policy"),
    ];
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
