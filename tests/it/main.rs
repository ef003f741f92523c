//! The integration tests: one test binary (ripgrep's shape), one module per
//! suite, one shared helper module ([`harness`]). Each test binary links the
//! crate and all its dependencies; one binary instead of 28 saves most of
//! the link time of a test build (CONTRIBUTING.md, Tests, has the figures).
//!
//! nextest runs every test in its own process, in parallel, so the suites
//! stay as independent as separate binaries were; select a suite by its
//! module path: `cargo nextest run --test it -E 'test(/^golden::/)'`.
//! Which suites run one at a time, and their time limits, are in
//! `.config/nextest.toml`.

mod harness;

mod acl_table;
mod adversarial;
mod cert_manager_schema;
mod certificates;
mod consumer_render;
mod consumers;
mod day2;
mod day2_rotation;
mod day2_scaling;
mod docs;
mod e2e_metrics;
mod e2e_sources;
mod e2e_topology;
mod gitops;
mod golden;
mod hashing;
mod krm_contract;
mod metrics_rules;
mod migration;
mod migration_recipes;
mod partition;
mod passthrough;
mod pod_security;
mod properties;
mod script_helpers;
mod script_safety;
mod secret_free;
mod secrets_hygiene;
mod servers;
mod sources_check;
mod threescale_split;
mod yaml_compat;
