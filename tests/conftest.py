# First import of the test session: starts the Hub emulator and sets HF_* before any test
# module imports huggingface_hub or datasets (they read the environment at import).
from conftest_hub import datasets_cache, fast_retries, hub, hub_env, hub_server  # noqa: F401
