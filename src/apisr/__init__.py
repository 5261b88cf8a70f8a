"""apisr: real-world anime super-resolution, from curated frames to upscaled videos."""

__version__ = "0.1.0"
