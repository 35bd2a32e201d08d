//! The fuzz harness on a short fixed-seed budget: mutants of every bundled model (numbers
//! at extremes, units swapped, names changed, lines deleted, duplicated and moved, indents
//! shifted, random bytes, alias bombs), each read and run in a process of its own. None may
//! panic, abort, hang, break the engine's conservation checks or run differently twice.
//! `archsim fuzz --minutes 60` runs the same for an hour (docs/VALIDATION.md).

use std::process::Command;

#[test]
fn mutants_of_the_bundled_models_neither_crash_nor_hang_nor_break_a_rule() {
    let keep = std::env::temp_dir().join(format!("archsim-fuzz-kept-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args([
            "fuzz",
            "--cases",
            "300",
            "--seed",
            "20261207",
            "--case-seconds",
            "60",
        ])
        .arg("--keep")
        .arg(&keep)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The summary counts every case, and the budget reached both the reader's refusals and
    // real runs (a harness whose every mutant is refused would test nothing of the engine).
    let figure = |label: &str| -> u64 {
        let at = stdout
            .find(label)
            .unwrap_or_else(|| panic!("`{label}` in {stdout}"));
        stdout[..at]
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(stdout.starts_with("300 cases"), "{stdout}");
    assert!(figure(" ran,") > 50, "{stdout}");
    assert!(figure(" refused by the reader") > 50, "{stdout}");
    assert_eq!(
        figure(" broke a rule") + figure(" crashed") + figure(" hung"),
        0
    );
}

#[test]
fn a_case_that_breaks_is_kept_with_what_broke() {
    // The harness's own side: a case's process that dies is seen, counted and kept with
    // its cause. In an address space of 1 MiB no case can even start.
    let keep = std::env::temp_dir().join(format!("archsim-fuzz-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&keep);
    let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
        .args(["fuzz", "--cases", "2", "--memory-mib", "1"])
        .arg("--keep")
        .arg(&keep)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2 crashed"), "{stdout}");
    let kept: Vec<_> = std::fs::read_dir(&keep).unwrap().collect();
    assert_eq!(kept.len(), 2);
    let text = std::fs::read_to_string(kept[0].as_ref().unwrap().path()).unwrap();
    assert!(text.starts_with("# archsim fuzz --seed 1 case"), "{text}");
}
