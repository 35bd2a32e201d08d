//! Jobs and merge: the runs of a matrix or a sweep written as files, run one by one, and
//! merged give exactly what the direct command computes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use archsim::experiment::jobs::{self, Job, JobResult, Merged};
use archsim::experiment::matrix::{MatrixFault, matrix};
use archsim::experiment::sweep::{Plan, sweep};
use archsim::model::Model;
use archsim::sim::{RunOptions, SimTime};

use crate::support::model;

const MODEL_FILE: &str = "models/single_point_of_failure.yaml";

fn bundled() -> (String, Arc<Model>) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL_FILE))
        .expect("models/single_point_of_failure.yaml is readable");
    let m = model(&text);
    (text, m)
}

fn options() -> RunOptions {
    RunOptions {
        seed: Some(11),
        duration: Some(SimTime::from_secs(30)),
        warmup: Some(SimTime::from_secs(5)),
    }
}

/// Each job goes through JSON, runs on its own, and its result goes through JSON back, as
/// on another machine; the results arrive in reverse order.
fn run_remotely(list: &[Job]) -> Vec<JobResult> {
    let mut results: Vec<JobResult> = list
        .iter()
        .map(|job| {
            let shipped: Job = serde_json::from_str(&serde_json::to_string(job).expect("json"))
                .expect("a job reads back");
            let result = shipped.run().expect("the job runs");
            serde_json::from_str(&serde_json::to_string(&result).expect("json"))
                .expect("a result reads back")
        })
        .collect();
    results.reverse();
    results
}

#[test]
fn matrix_jobs_run_one_by_one_merge_into_the_direct_matrix() {
    let (text, m) = bundled();
    let fault = MatrixFault::OneReplica;
    let direct = matrix(&m, fault, options(), 2, true).expect("runs");
    let list = jobs::matrix_jobs(MODEL_FILE, &text, &m, fault, options(), 2);
    assert_eq!(list.len(), 2 * (m.components.len() + 1));
    let results = run_remotely(&list);
    match jobs::merge(results.clone()).expect("merges") {
        Merged::Matrix(mx) => assert_eq!(mx, direct),
        Merged::Sweep(_) => panic!("a matrix's jobs merged into a sweep"),
    }
    // A missing result is named, not silently left out.
    let err = jobs::merge(results[1..].to_vec()).expect_err("one missing");
    assert!(err.to_string().contains("is missing"), "{err}");
}

#[test]
fn sweep_jobs_run_one_by_one_merge_into_the_direct_sweep() {
    let (text, m) = bundled();
    let plan = Plan::new(
        &m,
        vec![
            "app.replicas=1..2".parse().expect("valid"),
            "shoppers.rate=100/s,300/s".parse().expect("valid"),
        ],
        &["p99_s".to_string(), "app.utilization".to_string()],
    )
    .expect("valid sweep");
    let direct = sweep(&m, &plan, options(), 2, true, &|| {}).expect("runs");
    let list = jobs::sweep_jobs(MODEL_FILE, &text, &m, &plan, options(), 2);
    assert_eq!(list.len(), 8);
    match jobs::merge(run_remotely(&list)).expect("merges") {
        Merged::Sweep(sw) => assert_eq!(sw, direct),
        Merged::Matrix(_) => panic!("a sweep's jobs merged into a matrix"),
    }
}

#[test]
fn jobs_job_run_and_merge_from_the_binary_print_what_sweep_prints() {
    let archsim = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_archsim"))
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "archsim {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let dir = std::env::temp_dir().join(format!("archsim-jobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let model_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MODEL_FILE);
    let model_arg = model_path.to_str().expect("utf-8 path");
    let dir_arg = dir.to_str().expect("utf-8 path");
    let study = ["--set", "app.replicas=1,3", "--duration", "25s"];
    archsim(&[&["jobs", model_arg, "--out", dir_arg, "sweep"], &study[..]].concat());
    for i in 0..2 {
        let job = dir.join(format!("job-{i:05}.json"));
        let result = dir.join(format!("result-{i:05}.json"));
        archsim(&[
            "job",
            "run",
            job.to_str().expect("utf-8 path"),
            "--out",
            result.to_str().expect("utf-8 path"),
        ]);
    }
    let merged = archsim(&["merge", dir_arg, "--json"]);
    let direct = archsim(&[&["sweep", model_arg], &study[..], &["--json"]].concat());
    assert_eq!(
        String::from_utf8_lossy(&merged),
        String::from_utf8_lossy(&direct)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sweep runs its points a batch at a time to keep few models in memory; the runs of
/// more points than a batch still land in their places.
#[test]
fn a_sweep_larger_than_one_batch_of_points_equals_its_jobs_merged() {
    let text = "
duration: 3s
warmup: 1s
workloads: [ { name: users, target: app, rate: 200/s, request: a } ]
components:
  app: { kind: service, workers: 1, queue: 5, handlers: { a: { work: exp 4ms } } }
";
    let m = model(text);
    let plan = Plan::new(
        &m,
        vec!["app.workers=1..70".parse().expect("valid")],
        &["a.availability".to_string(), "app.utilization".to_string()],
    )
    .expect("valid sweep");
    let options = RunOptions {
        seed: Some(5),
        ..RunOptions::default()
    };
    let direct = sweep(&m, &plan, options, 1, true, &|| {}).expect("runs");
    let list = jobs::sweep_jobs("inline.yaml", text, &m, &plan, options, 1);
    match jobs::merge(run_remotely(&list)).expect("merges") {
        Merged::Sweep(sw) => assert_eq!(sw, direct),
        Merged::Matrix(_) => panic!("a sweep's jobs merged into a matrix"),
    }
    assert_eq!(direct.points[69].values, ["70"]);
    // One worker is overloaded (ρ = 0.8 with a queue of 5 loses requests); seventy are not.
    let availability = |i: usize| direct.points[i].figures["a.availability"].mean;
    assert!(availability(0) < availability(69));
}
