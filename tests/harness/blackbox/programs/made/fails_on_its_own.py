"""Made to fail before any training: the uninterrupted run itself breaks (verify exits 2)."""

raise RuntimeError("the data directory is missing")
