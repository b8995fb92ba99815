//! IR validation. (being written)
