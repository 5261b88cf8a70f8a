"""``apisr serve``: a local web UI for upscaling pictures and videos (see :mod:`apisr.web.app`)."""
