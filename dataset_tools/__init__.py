"""dataset-tools: collected news articles -> a versioned, validated Parquet dataset on the Hub."""


def __getattr__(name: str) -> str:
    # `__version__` is looked up on first use: importlib.metadata costs about 60 ms, and the
    # `build` command starts listing the raw folder before anything that heavy is imported.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("dataset-tools")
        except PackageNotFoundError:  # running from a source tree that was never installed
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
