//! The ingest Lambda of a pipewright pipeline: device events arrive through an API
//! Gateway REST proxy integration, are validated against their source's JSON Schema,
//! stored as gzip NDJSON in the raw bucket (rejected events beside them) and indexed
//! in DynamoDB. The handler is a library function with its AWS clients passed in, so
//! tests drive it against an emulator; `main.rs` only wires it to the Lambda runtime
//! (or to a local HTTP server).

pub mod batch;
pub mod body;
pub mod claim;
pub mod emf;
pub mod handler;
pub mod idempotency;
pub mod items;
pub mod local;
pub mod logging;
pub mod setup;
pub mod strict;
pub mod tape;
pub mod timefmt;

pub use handler::{Clients, handle};
pub use setup::{Names, Setup};
