"""Every check of a config before any job runs (the top layer: it asks data and models)."""
