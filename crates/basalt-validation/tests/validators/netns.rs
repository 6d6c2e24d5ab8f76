//! Running a test inside a network namespace of its own, for tests whose targets are
//! addresses that must never be dialled on the real network (169.254.169.254, 0.0.0.0, ::).
//!
//! The test re-executes this test binary under `unshare --user --map-root-user --net`,
//! filtered to itself, with [`CHILD_ENV`] set. In the child, [`enter`] brings `lo` up and
//! adds the addresses the test needs to it; the namespace has no other interface, so even a
//! validator that ignored its egress policy could not send a packet off this machine. Where
//! no namespace can be made, the test prints SKIP with the reason.

use std::process::Command;

/// Set in the re-executed child, inside the namespace.
const CHILD_ENV: &str = "BASALT_TEST_IN_NETNS";

/// `true` inside the namespace (the caller runs the test body); `false` in the parent once
/// the child has passed, or when no namespace can be made (SKIP printed). `test` is the name
/// the harness knows the test by (`egress::...`); `addresses` are added to the namespace's
/// `lo` (CIDR, e.g. `169.254.169.254/32`).
pub(crate) fn enter(test: &str, addresses: &[&str]) -> bool {
    if std::env::var_os(CHILD_ENV).is_some() {
        ip(&["link", "set", "lo", "up"]);
        for address in addresses {
            ip(&["addr", "add", address, "dev", "lo"]);
        }
        return true;
    }
    let probe = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--net",
            "ip",
            "link",
            "set",
            "lo",
            "up",
        ])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            println!(
                "SKIP {test}: cannot make a network namespace (unshare --net: {}; {})",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return false;
        }
        Err(error) => {
            println!("SKIP {test}: cannot make a network namespace (unshare: {error})");
            return false;
        }
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--net"])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("the test binary runs under unshare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed inside its network namespace ({}):\n{stdout}\n{stderr}",
        output.status
    );
    false
}

/// Runs `ip` in the namespace; any failure fails the test (the namespace could be made, so
/// it must be usable).
fn ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("ip (iproute2) runs");
    assert!(status.success(), "ip {args:?} failed: {status}");
}
