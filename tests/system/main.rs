//! Cross-process tests: each test starts its own nats-server (free port, temporary
//! store) and its own `dondoc up` process, and talks to it over gRPC on loopback.

mod access;
mod atomic_import;
mod audit;
mod bad_input;
mod commands;
mod crash;
mod deadline_api;
mod forgery;
mod golden;
mod groups;
mod hostile_input;
mod identity;
mod import;
mod integrity;
mod lockdown;
mod reimport;
mod roles;
mod service;
mod support;
mod worker;
