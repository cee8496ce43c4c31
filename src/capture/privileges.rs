//! Least privilege, as `tcpdump -Z` does it: the capture handle and the `--write` file are
//! opened with the privilege, then the process becomes the user who ran sudo (or `--user`)
//! before it parses a single packet from the network.

use std::path::Path;

use nix::unistd::{self, Gid, Uid, User};

/// Who the process runs as after [`drop_to_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// Not root (capabilities granted with setcap, or a test): nothing to drop.
    NotRoot,
    /// Root without sudo and without `--user`: stays root, as there is no one to become.
    StayedRoot,
    User {
        name: String,
        uid: u32,
        gid: u32,
    },
}

/// The user to become: `--user NAME`, else the sudo caller (`SUDO_UID`/`SUDO_GID`).
fn target(user: Option<&str>) -> Result<Option<(String, Uid, Gid)>, String> {
    if let Some(name) = user {
        let u = User::from_name(name)
            .map_err(|e| format!("--user {name}: {e}"))?
            .ok_or_else(|| format!("--user {name}: no such user"))?;
        return Ok(Some((u.name, u.uid, u.gid)));
    }
    let (Ok(uid), Ok(gid)) = (std::env::var("SUDO_UID"), std::env::var("SUDO_GID")) else {
        return Ok(None);
    };
    let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) else {
        return Err(format!("SUDO_UID={uid} SUDO_GID={gid}: not numbers"));
    };
    if uid == 0 {
        return Ok(None);
    }
    let name = User::from_uid(Uid::from_raw(uid)).ok().flatten().map_or_else(|| uid.to_string(), |u| u.name);
    Ok(Some((name, Uid::from_raw(uid), Gid::from_raw(gid))))
}

/// Becomes the invoking user when running as root; `owned` files (the `--write` capture) are
/// given to that user first. Fails rather than go on as root when the switch did not hold.
pub fn drop_to_user(user: Option<&str>, owned: &[&Path]) -> Result<Dropped, String> {
    if !unistd::geteuid().is_root() {
        if let Some(name) = user {
            return Err(format!(
                "--user {name}: only root can switch users (acrscope runs as uid {})",
                unistd::geteuid()
            ));
        }
        return Ok(Dropped::NotRoot);
    }
    let Some((name, uid, gid)) = target(user)? else {
        return Ok(Dropped::StayedRoot);
    };
    for p in owned {
        std::os::unix::fs::chown(p, Some(uid.as_raw()), Some(gid.as_raw()))
            .map_err(|e| format!("giving {} to {name}: {e}", p.display()))?;
    }
    let cname = std::ffi::CString::new(name.clone()).map_err(|e| e.to_string())?;
    // Supplementary groups first (they need root), then the group, then the user.
    unistd::initgroups(&cname, gid)
        .or_else(|_| unistd::setgroups(&[gid]))
        .map_err(|e| format!("setting the groups of {name}: {e}"))?;
    unistd::setresgid(gid, gid, gid).map_err(|e| format!("switching to group {gid}: {e}"))?;
    unistd::setresuid(uid, uid, uid).map_err(|e| format!("switching to user {name} ({uid}): {e}"))?;
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::geteuid() != uid {
        return Err(format!("could not give up root for {name}"));
    }
    Ok(Dropped::User { name, uid: uid.as_raw(), gid: gid.as_raw() })
}
