"""Thin Prefect tasks around ecg_core: retries, tags, logging and artifacts; no domain logic here.

Tasks take the store URI (a string), not a store object, so they stay serialisable for remote workers.
"""
