//! The use cases against a real nats-server, in process: one test binary with a module
//! per feature, on the shared harness (`support.rs`, over dondoc-test-support).

mod deadline_worker;
mod integrity;
mod statistics;
mod support;
mod write_side;
