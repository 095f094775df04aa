"""The config layer: reading config files, the schema's values, the run grid and run identity."""
