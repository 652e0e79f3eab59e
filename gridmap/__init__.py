"""gridmap: grid responsibility maps for county civilized-city campaigns."""

__version__ = "0.1.0"
