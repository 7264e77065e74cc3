//! Usage records: built by the request pipeline ([`crate::gateway`]), one per proxied
//! request, written durably before the response completes by one writer task that
//! group-commits concurrent records in one transaction.

mod writer;

pub use writer::UsageWriter;
