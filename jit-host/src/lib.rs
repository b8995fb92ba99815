//! jit-host library. (being written)
