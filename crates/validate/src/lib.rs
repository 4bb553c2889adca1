//! mlrig-validate (under construction)
