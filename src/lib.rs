//! `redis-sentinel-fn`: a KRM function that turns a small `RedisSentinel`
//! spec into a complete Redis + Sentinel topology with TLS on every link.
//!
//! Layout:
//! - [`krm`]: ResourceList I/O and results
//! - [`spec`]: the spec model, defaults and validation
//! - [`certs`]: CA and certificates (rcgen), seeds, keeping earlier ones
//! - [`sources`]: where certificates come from (generated, cert-manager,
//!   OpenShift service CA, existing Secrets)
//! - [`config`]: redis.conf, sentinel.conf and the start scripts
//! - [`generate`]: Secrets, ConfigMaps, Services, StatefulSets, PDBs
//! - [`consumers`]: connection Secrets for applications (3scale, Service Binding)
//! - [`hash`]: the pod-template hash
//! - [`ownership`]: marks on generated items, replacing earlier output
//! - [`function`]: the whole function: ResourceList in, ResourceList out
//! - [`check`]: consistency check of rendered (and transformed) output
//! - [`metrics`]: exporter sidecars, PodMonitor, PrometheusRule

pub mod certs;
pub mod check;
pub mod config;
pub mod consumers;
pub mod function;
pub mod generate;
pub mod hash;
pub mod krm;
pub mod metrics;
pub mod ownership;
pub mod sources;
pub mod spec;
