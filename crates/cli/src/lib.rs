//! mlrig-cli (under construction)
