"""Raw data → prepared per-user splits: readers (one per format), preparation, fetching."""
