//! mlrig-pipeline (under construction)
