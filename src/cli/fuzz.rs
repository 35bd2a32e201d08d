//! `archsim fuzz`: mutants of the bundled models, each read and run in a process of its own,
//! so that a panic, an abort (an allocation the machine cannot give) or a hang is seen and
//! kept rather than taking the harness down. What a case must show is the library's
//! (`experiment::fuzz`); this file runs the processes, bounds their time and memory, keeps
//! the cases that break and counts the rest.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use crate::experiment::fuzz::{Mutant, Mutator, Outcome, check_case};

/// The exit code of `archsim fuzz-case` for a case that broke a rule (not a crash).
const BROKEN_EXIT: u8 = 3;

#[derive(clap::Args)]
pub(super) struct FuzzArgs {
    /// Cases to try [default: 200, or as many as fit in --minutes].
    #[arg(long)]
    cases: Option<u64>,
    /// Keep going for this many minutes of wall time.
    #[arg(long)]
    minutes: Option<f64>,
    /// Seed of the mutations: the same seed tries the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder of models to mutate.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Where the cases that break are kept, each with what broke as a comment.
    #[arg(long, default_value = "fuzz-failures")]
    keep: PathBuf,
    /// The address space one case may use, in MiB; beyond it an allocation fails.
    #[arg(long, default_value_t = 2048)]
    memory_mib: u64,
    /// The wall time one case may take before it counts as a hang.
    #[arg(long, default_value_t = 30)]
    case_seconds: u64,
}

#[derive(Default)]
struct Tally {
    cases: u64,
    ran: u64,
    refused: u64,
    limited: u64,
    broken: u64,
    crashed: u64,
    hung: u64,
}

pub(super) fn fuzz(args: &FuzzArgs) -> ExitCode {
    let bases = match bundled(&args.models) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) => {
            super::print_stderr(&format!(
                "error: {}: no .yaml models to mutate\n",
                args.models.display()
            ));
            return ExitCode::from(1);
        }
        Err(e) => {
            super::print_stderr(&format!("error: {}: {e}\n", args.models.display()));
            return ExitCode::from(1);
        }
    };
    let Ok(exe) = std::env::current_exe() else {
        super::print_stderr("error: cannot find the archsim program to run each case\n");
        return ExitCode::from(1);
    };
    let work = std::env::temp_dir().join(format!("archsim-fuzz-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        super::print_stderr(&format!("error: {}: {e}\n", work.display()));
        return ExitCode::from(1);
    }
    let cases = args.cases.unwrap_or(if args.minutes.is_some() {
        u64::MAX
    } else {
        200
    });
    #[expect(
        clippy::disallowed_methods,
        reason = "the harness's own budget of wall time, never a simulated figure"
    )]
    let started = std::time::Instant::now();
    let budget = args.minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let bar = indicatif::ProgressBar::new(if cases == u64::MAX { 0 } else { cases });
    bar.set_style(
        indicatif::ProgressStyle::with_template("{pos} cases {elapsed} {wide_bar} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut mutator = Mutator::new(args.seed);
    let mut tally = Tally::default();
    let mut kept = Vec::new();
    for i in 0..cases {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            break;
        }
        // Every third case starts from a random valid model instead of a bundled one, and
        // half of those run unmutated: a valid model must run as cleanly as any.
        let (base_name, mutant) = if i % 3 == 2 {
            let text = mutator.random_model();
            if i % 2 == 0 {
                ("a random model".to_string(), mutator.mutate(&text))
            } else {
                let how = "unmutated".to_string();
                ("a random model".to_string(), Mutant { text, how })
            }
        } else {
            let (name, text) = &bases[usize::try_from(i).unwrap_or(0) % bases.len()];
            (name.clone(), mutator.mutate(text))
        };
        let file = work.join(format!("case-{i}.yaml"));
        if let Err(e) = std::fs::write(&file, &mutant.text) {
            super::print_stderr(&format!("error: {}: {e}\n", file.display()));
            return ExitCode::from(1);
        }
        tally.cases += 1;
        let verdict = run_case(&exe, &file, args);
        let failure = match &verdict {
            Verdict::Ended(Outcome::Ran) => {
                tally.ran += 1;
                None
            }
            Verdict::Ended(Outcome::Refused) => {
                tally.refused += 1;
                None
            }
            Verdict::Ended(Outcome::Limited) => {
                tally.limited += 1;
                None
            }
            Verdict::Ended(Outcome::Broken(why)) => {
                tally.broken += 1;
                Some(("broken", why.clone()))
            }
            Verdict::Crashed(why) => {
                tally.crashed += 1;
                Some(("crashed", why.clone()))
            }
            Verdict::Hung => {
                tally.hung += 1;
                Some((
                    "hung",
                    format!("still running after {} s", args.case_seconds),
                ))
            }
        };
        if let Some((kind, why)) = failure {
            let name = format!("seed{}-case{i}-{kind}.yaml", args.seed);
            let path = args.keep.join(&name);
            let header = format!(
                "# archsim fuzz --seed {} case {i}: {kind}: {why}\n# from {base_name}: {}\n",
                args.seed, mutant.how,
            );
            let _ = std::fs::create_dir_all(&args.keep);
            if std::fs::write(&path, format!("{header}{}", mutant.text)).is_ok() {
                kept.push(path);
            }
            let line = format!("case {i} ({base_name}: {}): {kind}: {why}", mutant.how);
            if bar.is_hidden() {
                // Not a terminal: the bar draws nothing, and would swallow its lines too.
                super::print_stderr(&format!("{line}\n"));
            } else {
                bar.println(line);
            }
        }
        let _ = std::fs::remove_file(&file);
        bar.set_position(tally.cases);
        bar.set_message(format!(
            "{} failed",
            tally.broken + tally.crashed + tally.hung
        ));
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&work);
    let seconds = started.elapsed().as_secs_f64();
    let failed = tally.broken + tally.crashed + tally.hung;
    let mut text = format!(
        "{} cases in {seconds:.0} s ({:.1}/s), seed {}: {} ran, {} refused by the reader, \
         {} stopped at a limit; {} broke a rule, {} crashed, {} hung\n",
        tally.cases,
        tally.cases as f64 / seconds.max(1e-9),
        args.seed,
        tally.ran,
        tally.refused,
        tally.limited,
        tally.broken,
        tally.crashed,
        tally.hung,
    );
    for p in &kept {
        let _ = writeln!(text, "kept: {}", p.display());
    }
    let _ = super::print_stdout(&text);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `archsim fuzz-case FILE`: one case, in the process the harness watches. Prints how it
/// ended; exits 3 when it broke a rule.
pub(super) fn fuzz_case(file: &Path) -> ExitCode {
    let text = match std::fs::read(file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            super::print_stderr(&format!("error: {}: {e}\n", file.display()));
            return ExitCode::from(1);
        }
    };
    let outcome = check_case(&file.display().to_string(), &text);
    let line = match &outcome {
        Outcome::Ran => "ran".to_string(),
        Outcome::Refused => "refused".to_string(),
        Outcome::Limited => "limited".to_string(),
        Outcome::Broken(why) => format!("broken: {why}"),
    };
    let _ = super::print_stdout(&format!("{line}\n"));
    if matches!(outcome, Outcome::Broken(_)) {
        ExitCode::from(BROKEN_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

enum Verdict {
    Ended(Outcome),
    Crashed(String),
    Hung,
}

fn run_case(exe: &Path, file: &Path, args: &FuzzArgs) -> Verdict {
    // The shell's `ulimit -v` bounds the case's address space, so that a run that would eat
    // the machine fails its allocation instead; `exec` keeps the case's own exit status.
    let mut command = if cfg!(unix) {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "ulimit -v {} && exec \"$0\" fuzz-case \"$1\"",
                args.memory_mib * 1024
            ))
            .arg(exe)
            .arg(file);
        c
    } else {
        let mut c = Command::new(exe);
        c.arg("fuzz-case").arg(file);
        c
    };
    let Ok(mut child) = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return Verdict::Crashed("could not start the case's process".into());
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "a case's wall-time bound, to tell a hang from a long run"
    )]
    let started = std::time::Instant::now();
    let limit = Duration::from_secs(args.case_seconds);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Verdict::Hung;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Verdict::Crashed(format!("lost the case's process: {e}")),
        }
    };
    let output = child.wait_with_output().ok();
    let stdout = output
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let stderr = output
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default();
    match status.code() {
        Some(0) => match stdout.as_str() {
            "ran" => Verdict::Ended(Outcome::Ran),
            "refused" => Verdict::Ended(Outcome::Refused),
            "limited" => Verdict::Ended(Outcome::Limited),
            other => Verdict::Crashed(format!("said `{other}`")),
        },
        Some(c) if c == i32::from(BROKEN_EXIT) => Verdict::Ended(Outcome::Broken(
            stdout
                .strip_prefix("broken: ")
                .unwrap_or(&stdout)
                .to_string(),
        )),
        Some(c) => Verdict::Crashed(format!("exit code {c}: {}", last_line(&stderr))),
        None => Verdict::Crashed(format!("killed by a signal: {}", last_line(&stderr))),
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// The models to mutate: every `.yaml` file of `dir`, sorted by name.
fn bundled(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path)?;
            let name = path
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}
