//! Who authenticates as whom, and with which password: the ACL users and
//! the keys of the auth Secret ([`users`]), and how passwords are made and
//! kept ([`passwords`]). Below everything that renders users or passwords
//! (pod files, consumers, the metrics exporter), above the spec and seed.

pub mod passwords;
pub mod users;
