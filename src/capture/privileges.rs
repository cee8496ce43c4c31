//! Least privilege, as `tcpdump -Z` does it, and then some: the capture handle is opened with
//! the privilege, then the process gives up every capability and becomes an ordinary user
//! before it parses a single packet from the network. Paths the user named are opened only
//! after that, with the user's rights (see [`open_output`]).
//!
//! Who acrscope becomes, decided by [`plan`] before anything is opened:
//! - root through sudo: the sudo caller (`SUDO_UID`/`SUDO_GID`);
//! - root with `--user NAME`: that user; `--user root` keeps root, on purpose, and says so;
//! - root without either: `nobody`, as Debian's tcpdump does with its own user;
//! - an ordinary user holding `cap_net_raw,cap_net_admin` (setcap): stays that user.
//!
//! In every case [`Switch::apply`] then empties the capability sets (bounding where allowed,
//! ambient, inheritable, effective, permitted) and sets `PR_SET_NO_NEW_PRIVS`, so nothing run
//! later (there is nothing, but a bug could try) gains a privilege back through exec.
//!
//! Capability sets and no_new_privs are per thread: all of this must run before the process
//! starts its first thread, which `acrscope live` does only after it.

use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use caps::CapSet;
use nix::unistd::{self, Gid, Uid, User};

use super::live::LiveError;
use super::sandbox::Sandbox;

/// The uid and gid of `nobody` where the user database has no such name (Debian's values).
const NOBODY_ID: u32 = 65534;

/// Who the process is to become, decided before the capture is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Not root (capabilities granted with setcap): same user, capabilities dropped.
    Same,
    /// `--user root`: root kept on purpose, capabilities dropped all the same.
    KeepRoot,
    /// Root without sudo and without `--user`: `nobody`. Root named the output itself, so
    /// the `--write` file is opened before the switch.
    Nobody { uid: Uid, gid: Gid },
    /// The sudo caller, or `--user NAME`: files are opened after the switch.
    User { name: String, uid: Uid, gid: Gid },
}

/// The switch to make once the capture handle is open.
#[derive(Debug, Clone)]
pub struct Switch {
    target: Target,
}

/// Who the process runs as after [`Switch::apply`], for the `start` event and the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The user's name (the number when it has none).
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    /// `--user root`: still uid 0, though without capabilities.
    pub kept_root: bool,
    /// What is left in the effective and permitted sets: "none" after a successful drop.
    pub capabilities: String,
}

/// How the process runs once set up: who, with what, in which sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    pub dropped: Dropped,
    pub sandbox: Sandbox,
}

impl Confinement {
    /// One line for the UI header; `as root` only with `--user root`, which the header
    /// turns into a warning.
    pub fn summary(&self) -> String {
        let d = &self.dropped;
        format!("as {} · capabilities {} · sandbox {}", d.user, d.capabilities, self.sandbox)
    }
}

/// Decides who to become: `--user NAME`, else the sudo caller, else `nobody` when root.
/// Errors are the user's to fix (an unknown `--user`, `--user` without root).
pub fn plan(user: Option<&str>) -> Result<Switch, LiveError> {
    let root = unistd::geteuid().is_root();
    let target = match user {
        Some(name) if !root => {
            return Err(LiveError::Usage(format!(
                "--user {name}: only root can switch users (acrscope runs as uid {}); leave --user out",
                unistd::geteuid()
            )))
        }
        Some(name) => {
            let u = User::from_name(name)
                .map_err(|e| LiveError::Usage(format!("--user {name}: looking the user up: {e}")))?
                .ok_or_else(|| LiveError::Usage(format!("--user {name}: no such user")))?;
            if u.uid.is_root() {
                Target::KeepRoot
            } else {
                Target::User { name: u.name, uid: u.uid, gid: u.gid }
            }
        }
        None if !root => Target::Same,
        None => match sudo_caller()? {
            Some(t) => t,
            None => nobody(),
        },
    };
    Ok(Switch { target })
}

/// The sudo caller from `SUDO_UID`/`SUDO_GID`; `None` without them or when it was root.
fn sudo_caller() -> Result<Option<Target>, LiveError> {
    let (Ok(uid), Ok(gid)) = (std::env::var("SUDO_UID"), std::env::var("SUDO_GID")) else {
        return Ok(None);
    };
    let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
        return Err(LiveError::Usage(format!(
            "SUDO_UID={uid} SUDO_GID={gid}: not numbers; unset them or run acrscope through sudo"
        )));
    };
    if uid == 0 {
        return Ok(None);
    }
    let name = User::from_uid(Uid::from_raw(uid)).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name);
    Ok(Some(Target::User { name, uid: Uid::from_raw(uid), gid: Gid::from_raw(gid) }))
}

fn nobody() -> Target {
    match User::from_name("nobody") {
        Ok(Some(u)) if !u.uid.is_root() => Target::Nobody { uid: u.uid, gid: u.gid },
        _ => Target::Nobody { uid: Uid::from_raw(NOBODY_ID), gid: Gid::from_raw(NOBODY_ID) },
    }
}

impl Switch {
    /// Whether the `--write` file is opened before the switch: only when root itself named it
    /// (no sudo caller, no `--user` other than root); a user's path is opened with their rights.
    pub fn opens_output_first(&self) -> bool {
        matches!(self.target, Target::Nobody { .. } | Target::KeepRoot)
    }

    /// Gives up the user and every capability, sets no_new_privs, and checks that it held:
    /// fails rather than go on with a privilege. Call it before starting any thread.
    pub fn apply(self) -> Result<Dropped, LiveError> {
        let fail = |what: String| LiveError::Other(format!("giving up the capture privilege: {what}"));
        if let Some(n) = threads().filter(|&n| n > 1) {
            // capset and no_new_privs would leave the other threads as privileged as before.
            return Err(fail(format!("{n} threads are running already; the drop must come before the first")));
        }
        if has(CapSet::Effective, caps::Capability::CAP_SETPCAP) {
            // The bounding set caps what exec could ever give back; dropping needs CAP_SETPCAP,
            // which root has and a setcap'd user (or a trimmed container) does not:
            // no_new_privs covers that case.
            caps::clear(None, CapSet::Bounding).map_err(|e| fail(format!("the bounding set: {e}")))?;
        }
        let (name, uid, gid) = match &self.target {
            Target::Same | Target::KeepRoot => {
                let uid = unistd::geteuid();
                (user_name(uid), uid, unistd::getegid())
            }
            Target::Nobody { uid, gid } => {
                unistd::setgroups(&[]).map_err(|e| fail(format!("dropping the groups: {e}")))?;
                switch_ids(*uid, *gid).map_err(fail)?;
                (user_name(*uid), *uid, *gid)
            }
            Target::User { name, uid, gid } => {
                let cname = std::ffi::CString::new(name.clone()).map_err(|e| fail(e.to_string()))?;
                // The user's supplementary groups (their files may be group-writable), not root's.
                unistd::initgroups(&cname, *gid)
                    .or_else(|_| unistd::setgroups(&[*gid]))
                    .map_err(|e| fail(format!("setting the groups of {name}: {e}")))?;
                switch_ids(*uid, *gid).map_err(fail)?;
                (name.clone(), *uid, *gid)
            }
        };
        // Ambient first (it must stay a subset of permitted and inheritable), then the rest.
        for set in [CapSet::Ambient, CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
            caps::clear(None, set).map_err(|e| fail(format!("clearing the {set:?} capabilities: {e}")))?;
        }
        nix::sys::prctl::set_no_new_privs().map_err(|e| fail(format!("setting no_new_privs: {e}")))?;
        let left: Vec<String> = [CapSet::Effective, CapSet::Permitted]
            .into_iter()
            .flat_map(|s| caps::read(None, s).unwrap_or_default())
            .map(|c| c.to_string().to_lowercase())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !left.is_empty() {
            return Err(fail(format!("still holding {}", left.join(","))));
        }
        if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(fail(format!("could become root again after switching to {name}")));
        }
        Ok(Dropped {
            user: name,
            uid: uid.as_raw(),
            gid: gid.as_raw(),
            kept_root: self.target == Target::KeepRoot,
            capabilities: "none".into(),
        })
    }
}

/// Real, effective, saved (and with them the file-system) ids, group first: a user cannot
/// change its group any more.
fn switch_ids(uid: Uid, gid: Gid) -> Result<(), String> {
    unistd::setresgid(gid, gid, gid).map_err(|e| format!("switching to group {gid}: {e}"))?;
    unistd::setresuid(uid, uid, uid).map_err(|e| format!("switching to user {uid}: {e}"))?;
    let ids = unistd::getresuid().map_err(|e| e.to_string())?;
    if [ids.real, ids.effective, ids.saved] != [uid; 3] {
        return Err(format!("the switch to user {uid} did not hold"));
    }
    Ok(())
}

/// The threads of this process (`None` without /proc).
fn threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

fn has(set: CapSet, cap: caps::Capability) -> bool {
    caps::has_cap(None, set, cap).unwrap_or(false)
}

fn user_name(uid: Uid) -> String {
    User::from_uid(uid).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name)
}

/// Opens (creates or truncates) the `--write` file with the rights the process has now,
/// never through a symbolic link, and only if it is a regular file or a FIFO. Every refusal
/// is the user's to fix, and says how.
pub fn open_output(path: &Path, who: &str) -> Result<File, LiveError> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        // O_NOFOLLOW: a link planted at the path (to /etc/shadow, say) must not be written
        // through; O_NONBLOCK so that a device or a FIFO without a reader cannot hang the open.
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            LiveError::Usage(match e.raw_os_error() {
                Some(nix::libc::ENXIO) => {
                    format!("--write {shown}: a FIFO that nothing reads yet; start its reader first")
                }
                Some(nix::libc::ELOOP) => format!(
                    "--write {shown}: is a symbolic link, and acrscope does not write through links \
                     (one could point at a file that is not yours); give the path of the file itself"
                ),
                _ if e.kind() == ErrorKind::PermissionDenied => format!(
                    "--write {shown}: {e}: {who} cannot create or replace that file; \
                     give a path in a directory {who} can write to"
                ),
                _ => format!("--write {shown}: {e}"),
            })
        })?;
    let kind = file.metadata().map_err(|e| LiveError::Usage(format!("--write {shown}: {e}")))?.file_type();
    if !(kind.is_file() || kind.is_fifo()) {
        return Err(LiveError::Usage(format!(
            "--write {shown}: not a regular file; give the path of a capture file to create"
        )));
    }
    // Writes block again: a FIFO's reader sets the pace rather than losing packets midway.
    nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_WRONLY))
        .map_err(|e| LiveError::Usage(format!("--write {shown}: {e}")))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symbolic_link_is_refused_and_its_target_left_alone() {
        let dir = std::env::temp_dir().join(format!("acrscope-open-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, b"precious").unwrap();
        let link = dir.join("link.pcap");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_output(&link, "me").unwrap_err();
        assert!(matches!(e, LiveError::Usage(_)), "{e:?}");
        let m = e.to_string();
        assert!(m.contains("link.pcap") && m.contains("symbolic link"), "{m}");
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        let plain = dir.join("plain.pcap");
        std::fs::write(&plain, b"old content").unwrap();
        drop(open_output(&plain, "me").unwrap());
        assert_eq!(std::fs::metadata(&plain).unwrap().len(), 0, "an existing file is truncated");
        let e = open_output(&dir, "me").unwrap_err();
        assert!(e.to_string().contains("Is a directory") || e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn user_is_refused_to_a_non_root_process_and_unknown_users_are_named() {
        if unistd::geteuid().is_root() {
            let e = plan(Some("no-such-user-acrscope")).unwrap_err();
            assert!(e.to_string().contains("no such user"), "{e}");
            assert!(plan(Some("root")).unwrap().opens_output_first());
        } else {
            let e = plan(Some("root")).unwrap_err();
            assert!(e.to_string().contains("only root can switch users"), "{e}");
            assert!(!plan(None).unwrap().opens_output_first());
        }
    }
}
