//! `aihub-server` command line (being written).
fn main() {}
