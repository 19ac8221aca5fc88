//! Slurm as a job-control backend: the console's commands carried out with Slurm's own tools
//! (`squeue --json`, `sinfo --json`, `scontrol`, `sbatch`, `scancel`, `sacct`), polled gently,
//! filtered on our side where 22.05 ignores filters, and Slurm's own error text shown; or,
//! with `transport = "rest"`, through slurmrestd where its API can (`rest.rs`).

pub mod act;
pub mod detail;
pub mod jobs;
pub mod link;
pub mod parse;
pub mod rest;
pub mod rest_json;
pub mod sbatch;
pub mod text;
pub mod usage;
pub mod view;
