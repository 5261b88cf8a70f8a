"""apisr: real-world anime super-resolution, from curated frames to upscaled videos."""

__version__ = "0.1.0"

# The Python API lives in apisr.infer.api; it is imported on first use so that
# `import apisr` (and `apisr --help`) does not pay for torch.
_API = ("upscale", "load_model")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from apisr.infer import api

        return getattr(api, name)
    raise AttributeError(f"module 'apisr' has no attribute {name!r}")
