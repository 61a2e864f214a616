"""The settings files ecgflow ships (YAML recipes, DeepSpeed and model configs), read as package data."""
