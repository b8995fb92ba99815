//! renderer. (being written)
