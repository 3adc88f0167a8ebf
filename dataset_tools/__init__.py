"""dataset-tools: collected news articles -> a versioned, validated Parquet dataset on the Hub."""

# The one place the version is written (pyproject.toml reads it from here): looking it up in
# the installed package's metadata meant importing importlib.metadata, 20-30 ms of every
# command's start-up.
__version__ = "0.2.0"
