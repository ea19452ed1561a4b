"""Raw data → prepared per-user splits: readers (one per format), download, preparation, loading."""
