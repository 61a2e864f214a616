"""Prefect flows, one per stage, plus the end-to-end pipeline and the retraining flow."""
