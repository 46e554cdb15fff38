"""Media ingest: probe, transcode and thumbnail uploaded clips."""
