//! mlrig-serve (under construction)
