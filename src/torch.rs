//! libtorch bridge.
