//! mlrig-features (under construction)
