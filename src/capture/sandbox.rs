//! The Landlock sandbox of the process that parses packets, applied once everything it needs
//! is open (capture handle, `--write` file, rules). After it, the process may create files only
//! in the screenshot directory, read only what the live UI reads as it runs (interface names
//! under /sys/class/net, the terminal), open no TCP connection or listener, and reach no
//! abstract socket or process outside its own sandbox. Descriptors opened before stay usable:
//! Landlock checks the opening of a path, not the reads and writes that follow.
//!
//! Best effort by kernel: an older kernel enforces what it knows (reported as partial), one
//! without Landlock none of it (reported as unavailable, with why). Like the capability drop,
//! Landlock binds the calling thread and the threads it starts later: apply it before the
//! first thread.

use std::fmt;
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// The ABI whose rights are asked for: file access with device ioctls (v5), TCP bind and
/// connect (v4), abstract-socket and signal scoping (v6). A newer kernel enforces exactly
/// these; an older one the part it knows.
const TARGET_ABI: ABI = ABI::V6;

/// What stays reachable by path once the sandbox is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Directories where new files may be created and written (screenshots).
    pub write_dirs: Vec<PathBuf>,
    /// Files and directories that may be read (beneath them too).
    pub read: Vec<PathBuf>,
    /// Devices that may be opened for reading and writing, ioctls included (the terminal).
    pub devices: Vec<PathBuf>,
}

impl Allowed {
    /// `acrscope live` with the timeline: screenshots in `screenshot_dir`; interface names
    /// (`/sys/class/net/*` links into `/sys/devices`) for the details of `-i any` flows; the
    /// terminal, which crossterm opens again as `/dev/tty` to read its size.
    pub fn live_ui(screenshot_dir: &Path) -> Allowed {
        Allowed {
            write_dirs: vec![screenshot_dir.to_path_buf()],
            read: vec!["/sys/class/net".into(), "/sys/devices".into()],
            devices: vec!["/dev/tty".into()],
        }
    }

    /// Headless `acrscope live`: everything it writes goes to stdout and the `--write` file,
    /// both open already; it reads nothing by path.
    pub fn live_headless() -> Allowed {
        Allowed::default()
    }
}

/// What the kernel enforces, as the `start` event and the header say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sandbox {
    /// `abi`: the kernel's Landlock ABI; `partial`: the kernel lacks some of what was asked.
    Landlock {
        abi: i32,
        partial: bool,
    },
    Unavailable(String),
}

impl Sandbox {
    pub fn is_enforced(&self) -> bool {
        matches!(self, Sandbox::Landlock { .. })
    }
}

impl fmt::Display for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sandbox::Landlock { abi, partial: false } => write!(f, "landlock v{abi}"),
            Sandbox::Landlock { abi, partial: true } => write!(f, "landlock v{abi} (partial)"),
            Sandbox::Unavailable(why) => write!(f, "unavailable ({why})"),
        }
    }
}

/// Applies the sandbox to the calling thread and every thread it starts from now on.
/// Never fails: what could not be enforced is said in the result.
pub fn confine(allowed: &Allowed) -> Sandbox {
    match build(allowed) {
        Ok(s) => s,
        Err(e) => Sandbox::Unavailable(e.to_string()),
    }
}

fn build(allowed: &Allowed) -> Result<Sandbox, landlock::RulesetError> {
    let abi = TARGET_ABI;
    // Screenshots are created, never read back.
    let write_dir = AccessFs::MakeReg | AccessFs::WriteFile | AccessFs::Truncate;
    let read = AccessFs::from_read(abi);
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?;
    let rules: [(&[PathBuf], BitFlags<AccessFs>); 3] =
        [(&allowed.write_dirs, write_dir), (&allowed.read, read), (&allowed.devices, device)];
    for (paths, access) in rules {
        for p in paths {
            // A path that is not there (no /dev/tty in a container) is simply not allowed.
            let Ok(fd) = PathFd::new(p) else { continue };
            // A rule for a file (not a directory) may carry only file rights.
            let access = if p.is_dir() { access } else { access & AccessFs::from_file(abi) };
            ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
        }
    }
    // no_new_privs is set by the privilege drop already; set again here, it changes nothing.
    let status = ruleset.restrict_self()?;
    Ok(match (status.ruleset, status.landlock) {
        (RulesetStatus::NotEnforced, LandlockStatus::NotEnabled) => Sandbox::Unavailable(
            "Landlock is built into this kernel but not enabled: add landlock to its lsm= boot parameter".into(),
        ),
        (RulesetStatus::NotEnforced, LandlockStatus::NotImplemented) => {
            Sandbox::Unavailable("this kernel has no Landlock (Linux 5.13 or later has it)".into())
        }
        (RulesetStatus::NotEnforced, _) => Sandbox::Unavailable("the kernel enforced none of the rules".into()),
        (enforced, LandlockStatus::Available { effective_abi, kernel_abi }) => Sandbox::Landlock {
            abi: kernel_abi.unwrap_or(abi_number(effective_abi)),
            partial: enforced == RulesetStatus::PartiallyEnforced,
        },
        (enforced, _) => Sandbox::Landlock { abi: 0, partial: enforced == RulesetStatus::PartiallyEnforced },
    })
}

fn abi_number(abi: ABI) -> i32 {
    // ABI is non-exhaustive: its Debug form ("V7") is the stable way to its number.
    format!("{abi:?}").trim_start_matches('V').parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reads_as_the_start_event_gives_it() {
        assert_eq!(Sandbox::Landlock { abi: 4, partial: false }.to_string(), "landlock v4");
        assert_eq!(Sandbox::Landlock { abi: 3, partial: true }.to_string(), "landlock v3 (partial)");
        assert_eq!(Sandbox::Unavailable("no Landlock".into()).to_string(), "unavailable (no Landlock)");
        assert_eq!(abi_number(ABI::V6), 6);
    }
}
