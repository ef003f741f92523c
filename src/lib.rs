//! `redis-sentinel-fn`: a KRM function that turns a small `RedisSentinel`
//! spec into a complete Redis + Sentinel topology with TLS on every link.
//!
//! Layers, each importing only those listed before it:
//! - [`object`]: the ground floor: Kubernetes object helpers (label keys,
//!   the function's marks, metadata, Secret data, [`object::ItemExt`])
//! - [`krm`]: ResourceList I/O, input limits and results
//! - [`spec`]: the spec model, defaults and validation (`spec/X.rs` is the
//!   spec half of the output module `X/`: sources, consumers, metrics)
//! - [`ownership`]: labels and metadata of generated objects, finding and
//!   replacing earlier output
//! - [`pod`]: shared pod building blocks: file paths, Secret volumes,
//!   resources, the restricted security context
//! - [`certs`]: CA and certificates (rcgen), seeds, keeping earlier ones
//! - [`auth`]: ACL users and passwords
//! - [`sources`]: where certificates come from (generated, cert-manager,
//!   OpenShift service CA, existing Secrets)
//! - [`consumers`]: connection Secrets for applications (3scale, Service Binding)
//! - [`metrics`]: exporter sidecars, PodMonitor, PrometheusRule
//! - [`pod_files`]: what the pods read: redis.conf, sentinel.conf and the
//!   start, preStop, renewal and prune scripts (not the function config)
//! - [`hash`]: the pod-template hash
//! - [`generate`]: one instance's objects: Secrets, ConfigMaps, Services,
//!   StatefulSets, PDBs, NetworkPolicies
//! - [`function`]: the whole function: ResourceList in, ResourceList out
//! - [`check`]: consistency check of rendered (and transformed) output

pub mod auth;
pub mod certs;
pub mod check;
pub mod consumers;
pub mod function;
pub mod generate;
pub mod hash;
pub mod krm;
pub mod metrics;
pub mod object;
pub mod ownership;
pub mod pod;
pub mod pod_files;
pub mod sources;
pub mod spec;
