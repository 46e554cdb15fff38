"""Dataset releases: frozen manifests, group-disjoint splits, datasheets, training reads."""
