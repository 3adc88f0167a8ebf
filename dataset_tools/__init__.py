"""dataset-tools: collected news articles -> a versioned, validated Parquet dataset on the Hub."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("dataset-tools")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
