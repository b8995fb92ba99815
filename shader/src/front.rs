//! SPIR-V → IR. (being written)
