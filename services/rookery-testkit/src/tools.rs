//! External tools some tests need (promtool, prometheus, Python packages).
//! Missing tools skip those tests loudly, unless `ROOKERY_REQUIRE_TOOLS=1`
//! (set by `.ci/run`, which installs them) makes them a failure.

use std::path::PathBuf;
use std::process::Command;

/// Whether a missing tool fails the test instead of skipping it.
fn required() -> bool {
    std::env::var("ROOKERY_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}

/// `present`, after saying the test is skipped (or failing, if required)
/// when it is not.
pub fn available(what: &str, present: bool) -> bool {
    if !present {
        assert!(!required(), "{what} is required here (.ci/run installs it)");
        eprintln!("SKIPPED: {what} not installed; .ci/run installs it");
    }
    present
}

/// The program on PATH, or `None` (see [`available`]).
pub fn program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    available(name, found.is_some()).then(|| found.expect("checked"))
}

/// Whether `python3` can import every module (see [`available`]).
pub fn python_modules(modules: &[&str]) -> bool {
    let ok = Command::new("python3")
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output()
        .is_ok_and(|o| o.status.success());
    available(&format!("python3 with {}", modules.join(", ")), ok)
}
