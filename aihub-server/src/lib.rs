//! AI Hub gateway (being written).
