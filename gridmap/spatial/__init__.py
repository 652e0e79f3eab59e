"""Spatial questions answered inside PostgreSQL/PostGIS, for data too large for each worker's memory."""
