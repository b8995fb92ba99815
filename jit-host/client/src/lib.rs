//! jit-host client. (being written)
