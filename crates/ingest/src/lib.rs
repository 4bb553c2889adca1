//! mlrig-ingest (under construction)
