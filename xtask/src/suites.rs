//! The suites of `cargo xtask test` and its summary: each suite is `passed`, `FAILED` or
//! `not run (<reason>)`; a missing environment is never reported as passed.
//!
//! | suite | what runs | not run when |
//! |---|---|---|
//! | Rust tests | `cargo test` of the workspace (ndm-tests: its lib and every test target but the host suites below) | never (a build failure is FAILED) |
//! | pytest | `training/tests` in the training venv | `training/tests/` does not exist |
//! | clap-validator | `clap-validator validate` on the bundled `.clap` | no binary: `$CLAP_VALIDATOR`, `clap-validator` on `PATH`, `../shared/tools/clap-validator/clap-validator` |
//! | pedalboard VST3 test | `cargo test -p ndm-tests --test vst3_pedalboard` | the test wrote `target/test-status/vst3_pedalboard.not-run` |
//! | editor screenshot test | `cargo test -p ndm-tests --test editor_screenshot` | ditto, `editor_screenshot.not-run` |
//! | editor drag-and-drop test | `cargo test -p ndm-tests --test editor_drop` | ditto, `editor_drop.not-run` |
//! | Ardour bounce test | `cargo test -p ndm-tests --test ardour_bounce` | ditto, `ardour_bounce.not-run` |
//!
//! The host tests themselves decide what "environment missing" means (`tests/src/status.rs`):
//! such a test writes the marker with the reason and then *fails* (so plain `cargo test` never
//! counts it as passed either). xtask deletes `target/test-status/` first, runs each host suite
//! as its own `cargo test --test <suite>` (so a marker belongs to exactly one suite) and reports a
//! suite with a marker as not run, whatever its exit status.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The host-test suites: (test target in `tests/tests/`, name in the summary).
pub const HOST_SUITES: [(&str, &str); 4] = [
    ("vst3_pedalboard", "pedalboard VST3 test"),
    ("editor_screenshot", "editor screenshot test"),
    ("editor_drop", "editor drag-and-drop test"),
    ("ardour_bounce", "Ardour bounce test"),
];

#[derive(Clone, Debug)]
pub enum Outcome {
    /// Passed, with an optional detail (counts).
    Passed(String),
    Failed(String),
    NotRun(String),
}

impl Outcome {
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
    pub fn is_not_run(&self) -> bool {
        matches!(self, Outcome::NotRun(_))
    }
}

pub struct SuiteResult {
    pub name: &'static str,
    pub outcome: Outcome,
    pub secs: f64,
}

/// `target/` (or `$CARGO_TARGET_DIR`), as the tests see it (`tests/src/paths.rs`).
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("target"),
    }
}

fn status_of(cmd: &mut Command, what: &str) -> Outcome {
    match cmd.status() {
        Ok(s) if s.success() => Outcome::Passed(String::new()),
        Ok(s) => Outcome::Failed(format!("{what}: {s}")),
        Err(e) => Outcome::Failed(format!("could not start {what}: {e}")),
    }
}

fn timed(name: &'static str, f: impl FnOnce() -> Outcome) -> SuiteResult {
    let started = Instant::now();
    eprintln!("\n== test suite: {name}");
    let outcome = f();
    SuiteResult {
        name,
        outcome,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// Runs every suite (in the summary's order) and returns their results.
pub fn run_all(root: &Path, python: &Path, extra: &[String]) -> Result<Vec<SuiteResult>> {
    let status_dir = target_dir(root).join("test-status");
    let _ = std::fs::remove_dir_all(&status_dir);
    let mut results = Vec::new();

    results.push(timed("Rust tests", || rust_tests(root, python, extra)));
    results.push(timed("pytest", || pytest(root, python)));
    results.push(timed("clap-validator", || clap_validator(root)));
    for (target, name) in HOST_SUITES {
        results.push(timed(name, || {
            let mut cmd = Command::new("cargo");
            cmd.args(["test", "--release", "-p", "ndm-tests", "--test", target])
                .args(extra)
                .env("NDM_PYTHON", python);
            let outcome = status_of(&mut cmd, &format!("cargo test --test {target}"));
            let marker = status_dir.join(format!("{target}.not-run"));
            match std::fs::read_to_string(&marker) {
                Ok(reason) => Outcome::NotRun(reason.trim().to_string()),
                Err(_) => outcome,
            }
        }));
    }
    Ok(results)
}

/// The workspace's tests except the host suites (which run on their own, see the module docs).
fn rust_tests(root: &Path, python: &Path, extra: &[String]) -> Outcome {
    let workspace = status_of(
        Command::new("cargo")
            .args([
                "test",
                "--release",
                "--workspace",
                "--exclude",
                "xtask",
                "--exclude",
                "ndm-tests",
            ])
            .args(extra)
            .env("NDM_PYTHON", python),
        "cargo test --workspace",
    );
    let mut host = Command::new("cargo");
    host.args(["test", "--release", "-p", "ndm-tests", "--lib"]);
    for target in other_host_tests(root) {
        host.args(["--test", &target]);
    }
    let host = status_of(
        host.args(extra).env("NDM_PYTHON", python),
        "cargo test -p ndm-tests",
    );
    match (workspace, host) {
        (Outcome::Passed(_), Outcome::Passed(_)) => Outcome::Passed(String::new()),
        (Outcome::Failed(a), Outcome::Failed(b)) => Outcome::Failed(format!("{a}; {b}")),
        (Outcome::Failed(a), _) | (_, Outcome::Failed(a)) => Outcome::Failed(a),
        (other, _) => other,
    }
}

/// Test targets in `tests/tests/` other than [`HOST_SUITES`] (e.g. `clap_host`).
fn other_host_tests(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("tests/tests"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(".rs").map(str::to_owned)
                })
                .filter(|n| HOST_SUITES.iter().all(|(t, _)| t != n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn pytest(root: &Path, python: &Path) -> Outcome {
    if !root.join("training/tests").is_dir() {
        return Outcome::NotRun("training/tests/ does not exist".into());
    }
    status_of(
        Command::new(python)
            .args(["-m", "pytest", "-q", "training/tests"])
            .env("OMP_NUM_THREADS", "1"),
        "pytest training/tests",
    )
}

/// Where `clap-validator` is: `$CLAP_VALIDATOR`, `PATH`, or the company's copy next to the
/// workspace (`../shared/tools/clap-validator/clap-validator`, which CI always has).
/// `Err(reason)` when none is found (or `$CLAP_VALIDATOR` names nothing).
fn find_clap_validator(root: &Path) -> std::result::Result<PathBuf, Outcome> {
    if let Some(path) = std::env::var_os("CLAP_VALIDATOR") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Outcome::Failed(format!(
                "CLAP_VALIDATOR={} is not a file",
                path.display()
            )))
        };
    }
    if let Some(paths) = std::env::var_os("PATH") {
        if let Some(found) = std::env::split_paths(&paths)
            .map(|d| d.join("clap-validator"))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
    }
    let shared = root.join("../shared/tools/clap-validator/clap-validator");
    if shared.is_file() {
        return Ok(shared.canonicalize().unwrap_or(shared));
    }
    Err(Outcome::NotRun(
        "no clap-validator binary ($CLAP_VALIDATOR, PATH, ../shared/tools/clap-validator/)".into(),
    ))
}

/// The counts of clap-validator's last line: `N tests run, N passed, N failed, N warnings, N skipped`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValidatorCounts {
    pub run: u32,
    pub passed: u32,
    pub failed: u32,
    pub warnings: u32,
    pub skipped: u32,
}

pub fn parse_validator_summary(output: &str) -> Option<ValidatorCounts> {
    let line = output.lines().rev().find(|l| l.contains("tests run,"))?;
    let mut counts = ValidatorCounts::default();
    for part in line.split(',') {
        let mut words = part.split_whitespace();
        let n: u32 = words.next()?.parse().ok()?;
        match words.collect::<Vec<_>>().join(" ").as_str() {
            "tests run" | "test run" => counts.run = n,
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "warnings" | "warning" => counts.warnings = n,
            "skipped" => counts.skipped = n,
            _ => return None,
        }
    }
    Some(counts)
}

/// `clap-validator validate "target/bundled/Neural Drum Machine.clap"`. It wipes
/// `/tmp/clap-validator` when it starts and runs each test in a child process of itself: nothing
/// of ours is kept there. Its whole output goes to `target/test-artifacts/clap-validator.txt`;
/// the failed tests' lines and the counts are printed.
fn clap_validator(root: &Path) -> Outcome {
    let validator = match find_clap_validator(root) {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let clap = target_dir(root).join("bundled/Neural Drum Machine.clap");
    if !clap.exists() {
        return Outcome::Failed(format!("no CLAP bundle at {}", clap.display()));
    }
    eprintln!("{} validate {}", validator.display(), clap.display());
    // `timeout`: a plugin that hangs in one of its tests must not hang CI.
    let output = Command::new("timeout")
        .arg("1800")
        .arg(&validator)
        .arg("validate")
        .arg(&clap)
        .output();
    let output = match output.with_context(|| format!("running {}", validator.display())) {
        Ok(o) => o,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    // It colours its output even into a pipe: strip the ANSI escapes first.
    let text = strip_ansi(&format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ));
    let log = target_dir(root).join("test-artifacts/clap-validator.txt");
    let _ = std::fs::create_dir_all(log.parent().unwrap());
    let _ = std::fs::write(&log, &text);
    for (name, status, message) in validator_problems(&text) {
        eprintln!("clap-validator: {name}: {status}");
        for line in message {
            eprintln!("    {line}");
        }
    }
    let counts = parse_validator_summary(&text);
    let detail = counts.map_or("no summary line".to_string(), |c| {
        format!(
            "{} tests run, {} passed, {} failed, {} warnings, {} skipped",
            c.run, c.passed, c.failed, c.warnings, c.skipped
        )
    });
    eprintln!(
        "clap-validator: {detail} (exit {}; full output in {})",
        output.status,
        log.display()
    );
    match counts {
        Some(c) if c.failed == 0 && output.status.success() => Outcome::Passed(detail),
        Some(_) => Outcome::Failed(format!(
            "{detail}, exit {} (see {})",
            output.status,
            log.display()
        )),
        None => Outcome::Failed(format!(
            "no summary line, exit {} (see {})",
            output.status,
            log.display()
        )),
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The tests of clap-validator's (ANSI-free) tree output whose status is not PASSED or SKIPPED:
/// (name, status, message lines). A test is `│ ┌─ name`, its message `│ │ │ ...`, its status
/// `│ └── STATUS ─ 12ms`.
pub fn validator_problems(text: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let (mut name, mut message) = (String::new(), Vec::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("│ ┌─ ") {
            name = rest.trim().to_string();
            message.clear();
        } else if let Some(rest) = line.strip_prefix("│ │ │ ") {
            message.push(rest.trim_end().to_string());
        } else if let Some(rest) = line.strip_prefix("│ └── ") {
            let status = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            if status != "PASSED" && status != "SKIPPED" {
                out.push((name.clone(), status, std::mem::take(&mut message)));
            }
        }
    }
    out
}

pub fn print_summary(results: &[SuiteResult], total_secs: f64) {
    eprintln!("\n== test summary ({total_secs:.0} s)");
    for r in results {
        let text = match &r.outcome {
            Outcome::Passed(d) if d.is_empty() => "passed".to_string(),
            Outcome::Passed(d) => format!("passed ({d})"),
            Outcome::Failed(d) => format!("FAILED ({d})"),
            Outcome::NotRun(why) => format!("not run ({why})"),
        };
        eprintln!("  {:<24} {:>5.0} s  {text}", r.name, r.secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_validator_summary() {
        let out = "...\n   - scan-time: ...\n     WARNING: took 437 ms\n\n44 tests run, 35 passed, 0 failed, 1 warnings, 8 skipped\n";
        assert_eq!(
            parse_validator_summary(out),
            Some(ValidatorCounts {
                run: 44,
                passed: 35,
                failed: 0,
                warnings: 1,
                skipped: 8
            })
        );
        assert_eq!(parse_validator_summary("no summary"), None);
        let coloured = "44 tests run, \u{1b}[1;32m32\u{1b}[0m passed, \u{1b}[1;31m3\u{1b}[0m failed, \u{1b}[1;33m1\u{1b}[0m warnings, \u{1b}[1m8\u{1b}[0m skipped";
        assert_eq!(
            parse_validator_summary(&strip_ansi(coloured)),
            Some(ValidatorCounts {
                run: 44,
                passed: 32,
                failed: 3,
                warnings: 1,
                skipped: 8
            })
        );
    }

    #[test]
    fn lists_the_tests_that_did_not_pass() {
        let tree = "│ ┌─ scan-time\n│ │ Checks.\n│ │ ┌─ \n│ │ │ took 921 ms\n│ │ └── \n│ └── WARNING ─ 921ms\n│ \n│ ┌─ ok-test\n│ └── PASSED ─ 1ms\n│ ┌─ param-fuzz-basic\n│ │ ┌─ \n│ │ │ Timed out after 45 seconds\n│ └── CRASHED ─ 45056ms\n";
        let problems = validator_problems(tree);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].0, "scan-time");
        assert_eq!(problems[0].1, "WARNING");
        assert_eq!(problems[0].2, vec!["took 921 ms".to_string()]);
        assert_eq!(problems[1].0, "param-fuzz-basic");
        assert_eq!(problems[1].1, "CRASHED");
    }
}
