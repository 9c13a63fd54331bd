//! Who runs an attempt on this machine, and whether that process is alive:
//! a `gensec run` killed with `kill -9` leaves its attempt RUNNING, and the
//! next reaper must be able to tell.

use gensec_core::tracking::{Liveness, Runner};

/// This process, as an attempt's runner.
pub fn this_process() -> Runner {
    Runner::Process {
        host: host_name(),
        pid: std::process::id(),
    }
}

/// Whether `runner` is alive: only a process on this host can be checked.
pub fn liveness(runner: &Runner) -> Liveness {
    match runner {
        Runner::Process { host, pid } if *host == host_name() => process_liveness(*pid),
        _ => Liveness::Unknown,
    }
}

#[cfg(unix)]
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".into())
}

/// Signal 0 checks that a process exists without touching it: no such
/// process means gone; a process we may not signal (another user's) exists.
#[cfg(unix)]
fn process_liveness(pid: u32) -> Liveness {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Liveness::Gone;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => Liveness::Alive,
        Err(rustix::io::Errno::SRCH) => Liveness::Gone,
        Err(_) => Liveness::Alive,
    }
}

#[cfg(not(unix))]
fn process_liveness(_pid: u32) -> Liveness {
    Liveness::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_an_exited_one_is_gone() {
        assert_eq!(liveness(&this_process()), Liveness::Alive);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let Runner::Process { host, .. } = this_process() else {
            unreachable!()
        };
        let exited = Runner::Process {
            host: host.clone(),
            pid,
        };
        assert_eq!(liveness(&exited), Liveness::Gone);
        let elsewhere = Runner::Process {
            host: format!("{host}-elsewhere"),
            pid,
        };
        assert_eq!(liveness(&elsewhere), Liveness::Unknown);
    }
}
