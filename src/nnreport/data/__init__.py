"""The data layer: idx files, one module per dataset, splits and normalisation."""
