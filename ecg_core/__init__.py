"""ecgflow's library: all domain logic of the pipeline, free of any orchestration (no Prefect here)."""
