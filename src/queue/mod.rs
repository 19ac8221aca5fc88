//! Queue pressure and elastic nodes: how full a cluster's queue is and for how long jobs
//! wait (for a `gantry cm` cluster and a Slurm one alike), the rule that says when the cluster
//! is too small or too big, and the job history in the Standard Workload Format.

pub mod finished;
pub mod pressure;
pub mod report;
pub mod slurm;
pub mod stage;
pub mod workload;

pub use pressure::{Power, Pressure, QueueJob, QueueNode, Rule, Tracker, compute};
pub use report::{ElasticAction, QueueReport};
