//! The integration tests, built as one test executable (`[[test]] it` in
//! Cargo.toml): one module per area, and the helpers they share in
//! [`support`].

mod support;

mod chain;
mod chain_props;
mod cli;
mod common_selftest;
mod completion;
mod crashstate;
mod demo;
mod faults_corpus;
mod faults_crash;
mod faults_disk;
mod faults_finisher;
mod faults_hostile;
mod faults_kill;
mod faults_locks;
mod faults_supervise;
mod filters;
mod logship;
mod logship_resume;
mod man;
mod multilog;
mod multilog_ext;
mod packaging;
mod supervise;
mod supervise_ext;
mod supervise_extfiles;
mod supervise_restart;
mod svlog;
mod svlog_sources;
mod svlog_trust;
mod svmetrics;
mod svmetrics_hostile;
mod svmetrics_prometheus;
mod svscan;
mod svscan_sibling;
mod svstat_json;
mod svwait;
mod svwait_limits;
