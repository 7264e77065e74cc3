//! aihub-core end to end: the Client against tests/mock-upstream, for every provider family.
#![cfg(test)]

mod attempt;
mod client;
mod conformance;
mod examples;
mod families;
mod resilience;

use mock_upstream::MockServer;

/// A mock upstream on a free loopback port.
pub async fn mock() -> MockServer {
    mock_upstream::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}
