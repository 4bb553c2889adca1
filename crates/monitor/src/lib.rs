//! mlrig-monitor (under construction)
