//! mlrig-train (under construction)
